"""Opaque bearer tokens: random, stored as SHA-256, expiring and revocable."""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, request
from flask_smorest import abort
from sqlalchemy import bindparam, select, update

from backend.accounts.models import Token, User
from backend.accounts.passwords import verify_password
from backend.db_types import utcnow
from backend.extensions import db


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, Token]:
    """Create a token for user; the plain value is returned once and never stored."""
    secret = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=current_app.config["TOKEN_LIFETIME_HOURS"])
    token = Token(user=user, token_hash=digest(secret), expires_at=utcnow() + lifetime)
    db.session.add(token)
    return secret, token


def user_for_credentials(email: str, password: str) -> User | None:
    """The user with this email and password, or None; an unknown email costs a hash check too (no timing leak)."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    return user if verify_password(user.password_hash if user else None, password) else None


def revoke_token(token: Token) -> None:
    token.revoked_at = utcnow()


def revoke_all_tokens(user: User, keep: Token | None = None) -> int:
    """End every live token and dashboard session of the account (but `keep`, the caller's own, if given):
    after a password reset or change, or `flask users set-password`."""
    statement = update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None))
    if keep is not None:
        statement = statement.where(Token.id != keep.id)
    return db.session.execute(statement.values(revoked_at=utcnow()), execution_options={
        "synchronize_session": "fetch"}).rowcount


def _bearer_secret() -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


_TOKEN_BY_HASH = select(Token).where(Token.token_hash == bindparam("token_hash"))  # built once: every request runs it


def valid_token(secret: str) -> Token | None:
    token = db.session.scalar(_TOKEN_BY_HASH, {"token_hash": digest(secret)})
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    return token


def authenticate() -> User:
    """The user behind the request's bearer token, or a 401 (create_app plugs this into backend.auth)."""
    secret = _bearer_secret()
    if secret is None:
        abort(401, message="Sign in first and send the token as 'Authorization: Bearer <token>'.")
    token = valid_token(secret)
    if token is None:
        abort(401, message="The token is unknown, expired or revoked; sign in again.")
    g.current_token = token
    g.current_user = token.user
    return token.user
