"""The account page: signed-in devices, two-factor sign-in (issue 21, items 5 and 6)."""
from backend.dashboard.blueprint import bp  # noqa: F401 (routes go on it)
