"""Signed one-click unsubscribe tokens: a child and a recipient, valid for a year from the email that carried them.

Every email carries a fresh link, so a recipient always holds a valid one; an old link found in a mailbox
or a forwarded email stops working, and stops showing the child's name.
"""
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

SALT = "myodiary.reminders.unsubscribe"
LINK_LIFETIME = timedelta(days=365)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def unsubscribe_token(child_id: str, user_id: str) -> str:
    return _serializer().dumps([child_id, user_id])


def read_unsubscribe_token(token: str) -> tuple[str, str] | None:
    """The child and recipient of an unexpired token, else None (expired, forged or malformed alike)."""
    try:
        child_id, user_id = _serializer().loads(token, max_age=LINK_LIFETIME.total_seconds())
    except (BadSignature, ValueError, TypeError):  # SignatureExpired is a BadSignature
        return None
    return child_id, user_id


def unsubscribe_url(child_id: str, user_id: str) -> str:
    base = current_app.config["APP_URL"].rstrip("/")
    return f"{base}/api/v1/reminders/unsubscribe/{unsubscribe_token(child_id, user_id)}"
