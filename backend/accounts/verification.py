"""Email verification and changing the email (issue 21, items 1 and 3)."""
from backend.accounts.blueprint import blp  # noqa: F401 (routes go on it)
