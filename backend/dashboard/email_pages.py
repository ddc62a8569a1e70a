"""The page a verification link opens (issue 21, item 1)."""
from backend.dashboard.blueprint import bp  # noqa: F401 (routes go on it)
