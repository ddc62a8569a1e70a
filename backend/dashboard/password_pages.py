"""Forgot your password? and the new-password form a reset link opens (issue 21, item 2)."""
from backend.dashboard.blueprint import bp  # noqa: F401 (routes go on it)
