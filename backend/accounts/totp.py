"""Two-factor sign-in with TOTP (RFC 6238) and recovery codes (issue 21, item 5)."""
from backend.accounts.blueprint import blp  # noqa: F401 (routes go on it)
