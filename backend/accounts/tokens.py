"""Opaque bearer tokens and dashboard sessions: random, stored as SHA-256, expiring and revocable.

A token of kind "api" is a bearer token; one of kind "dashboard" is a dashboard session whose secret
lives only in the session cookie and is never accepted as a bearer token. `last_used_at` is kept to the
hour and written at most once an hour per token, after the response (`note_use`, `record_last_use`).
"""
import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app, g, request
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from backend.accounts.emails import queue_email
from backend.accounts.models import Token, User
from backend.accounts.passwords import verify_password
from backend.database import writing_transactions
from backend.db_types import utcnow
from backend.extensions import db
from backend.i18n import N_

log = logging.getLogger(__name__)

# What a clinician who must turn on two-factor sign-in may still reach (REQUIRE_CLINICIAN_2FA).
ENROLMENT_ENDPOINTS = frozenset({"accounts.me", "accounts.start_totp", "accounts.confirm_totp",
                                 "accounts.sign_out"})
MUST_ENROL = N_("Two-factor sign-in must be turned on first: this account may only set it up (POST /api/v1/me/totp).")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(user: User, kind: str = "api", device_name: str | None = None) -> tuple[str, Token]:
    """Create a token (or dashboard session) for user; the plain value is returned once and never stored.
    Any sign-in but an account's very first queues the `new_device` email."""
    secret = secrets.token_urlsafe(32)
    first = db.session.scalar(select(Token.id).where(Token.user_id == user.id).limit(1)) is None
    token = Token(user=user, token_hash=digest(secret), expires_at=utcnow() + _lifetime(kind), kind=kind,
                  device_name=device_name, created_at=utcnow())
    db.session.add(token)
    if not first:
        _announce(token)
    return secret, token


def _lifetime(kind: str) -> timedelta:
    if kind == "dashboard":
        return current_app.config["PERMANENT_SESSION_LIFETIME"]
    return timedelta(hours=current_app.config["TOKEN_LIFETIME_HOURS"])


def _announce(token: Token) -> None:
    facts = {"kind": token.kind, "device_name": token.device_name or "",
             "signed_in_at": token.created_at.isoformat()}  # written in the reader's words when sent
    queue_email("new_device", token.user.email, user=token.user, facts=facts)


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


def valid_token(secret: str, kind: str = "api") -> Token | None:
    """The live token of this kind with this secret, or None."""
    token = db.session.scalar(_TOKEN_BY_HASH, {"token_hash": digest(secret)})
    if token is None or token.kind != kind or token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    return token


def must_enrol(user: User) -> bool:
    """A clinician without two-factor sign-in while REQUIRE_CLINICIAN_2FA is on: may only turn it on."""
    return (current_app.config["REQUIRE_CLINICIAN_2FA"] and user.role == "clinician"
            and user.totp_enabled_at is None)


def authenticate() -> User:
    """The user behind the request's bearer token, or a 401 (create_app plugs this into backend.auth)."""
    secret = _bearer_secret()
    if secret is None:
        abort(401, message=gettext("Sign in first and send the token as 'Authorization: Bearer <token>'."))
    token = valid_token(secret)
    if token is None:
        abort(401, message=gettext("The token is unknown, expired or revoked; sign in again."))
    if must_enrol(token.user) and request.endpoint not in ENROLMENT_ENDPOINTS:
        abort(403, message=gettext(MUST_ENROL))
    note_use(token)
    g.current_token = token
    g.current_user = token.user
    return token.user


def this_hour() -> datetime:
    return utcnow().replace(minute=0, second=0, microsecond=0)


def note_use(token: Token) -> None:
    """Mark the token for `record_last_use` when its last use is from an earlier hour (no write per request)."""
    if token.last_used_at is None or token.last_used_at < this_hour():
        g.token_used = token.id


def record_last_use(response):
    """After the response is made: the token's last use, to the hour, in a write of its own."""
    token_id = g.pop("token_used", None)
    if token_id is None:
        return response
    hour = this_hour()
    db.session.rollback()  # end the request's transaction; this is a write of its own
    try:
        with writing_transactions():
            db.session.execute(update(Token).where(Token.id == token_id, or_(
                Token.last_used_at.is_(None), Token.last_used_at < hour)).values(last_used_at=hour))
            db.session.commit()
    except SQLAlchemyError:  # a convenience for the devices list: never fail the answer for it
        db.session.rollback()
        log.warning("could not record a token's last use", exc_info=True)
    return response
