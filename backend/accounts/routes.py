"""Every module of the accounts API, imported so that its routes are on the blueprint before it is registered."""
from backend.accounts import devices, registration, resets, totp, verification, views  # noqa: F401
from backend.accounts.blueprint import blp

__all__ = ["blp"]
