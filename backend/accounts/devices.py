"""Signed-in devices: the account's tokens and dashboard sessions (issue 21, item 6)."""
from backend.accounts.blueprint import blp  # noqa: F401 (routes go on it)
