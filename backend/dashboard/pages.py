"""Every page module of the dashboard, imported so that its routes are on the blueprint before it is registered."""
from backend.dashboard import account_pages, email_pages, password_pages, views  # noqa: F401
from backend.dashboard.blueprint import bp

__all__ = ["bp"]
