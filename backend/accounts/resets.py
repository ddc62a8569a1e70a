"""Password reset and password change (issue 21, items 2 and 3)."""
from backend.accounts.blueprint import blp  # noqa: F401 (routes go on it)
