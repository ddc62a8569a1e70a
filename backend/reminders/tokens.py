"""Signed one-click unsubscribe tokens: a child and a recipient, no expiry (links must keep working)."""
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "myodiary.reminders.unsubscribe"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def unsubscribe_token(child_id: str, user_id: str) -> str:
    return _serializer().dumps([child_id, user_id])


def read_unsubscribe_token(token: str) -> tuple[str, str] | None:
    try:
        child_id, user_id = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return child_id, user_id


def unsubscribe_url(child_id: str, user_id: str) -> str:
    base = current_app.config["APP_URL"].rstrip("/")
    return f"{base}/api/v1/reminders/unsubscribe/{unsubscribe_token(child_id, user_id)}"
