"""Small secrets kept at rest (a TOTP secret, an account email's link until it is sent), sealed with a key
derived from SECRET_KEY (Fernet: AES-128-CBC with HMAC-SHA256, from `cryptography`).

A database copy alone then yields no second factor and no live reset link. Rotating SECRET_KEY makes
the sealed values unreadable: two-factor must then be set up again (documented in the README).
"""
import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

CONTEXT = b"myodiary sealed secrets v1"


def _fernet() -> Fernet:
    key = hashlib.sha256(CONTEXT + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def unseal(sealed: str) -> str | None:
    """The text, or None when it was sealed under another key or tampered with."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
