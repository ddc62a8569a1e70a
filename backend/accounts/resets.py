"""Password reset and password change (issue 21, items 2 and 3).

A reset request answers alike for every address, known or not: the same 202 body, about the same work
(a token made and sealed, the per-account counter hit, a commit) and no answer sooner than ANSWER_SECONDS;
the email is only queued here and sent by the scheduler, so SMTP's time never shows. Only the SHA-256
of a reset token is stored; its link works once, for PASSWORD_RESET_MINUTES. Setting a password, by
reset or change, ends the account's sessions (a change keeps the caller's own) and tells the address.
"""
import secrets
import time
from datetime import timedelta

import marshmallow as ma
from flask import current_app, g
from flask_babel import gettext
from flask_smorest import abort
from limits import parse_many
from marshmallow import fields, validate
from sqlalchemy import select, update

from backend.accounts.blueprint import blp
from backend.accounts.emails import queue_email
from backend.accounts.models import PasswordReset, User
from backend.accounts.passwords import hash_password, verify_password
from backend.accounts.policy import password_problems
from backend.accounts.schemas import PASSWORD_LENGTH, LowerEmail
from backend.accounts.tokens import digest, revoke_all_tokens
from backend.auth import current_user, login_required
from backend.crypto import seal
from backend.db_types import utcnow
from backend.extensions import db, limiter
from backend.i18n import duration
from backend.validation import validate_unicode

ANSWER_SECONDS = 0.1  # a reset request's shortest answer: well above the few ms a known address's inserts add


class ResetRequestSchema(ma.Schema):
    email = LowerEmail(required=True, validate=validate.Length(max=254))


class ResetRequestedSchema(ma.Schema):
    message = fields.String(required=True)


class NewPasswordSchema(ma.Schema):
    password = fields.String(required=True, load_only=True, validate=[PASSWORD_LENGTH, validate_unicode])


class PasswordChangeSchema(ma.Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate_unicode)
    new_password = fields.String(required=True, load_only=True, validate=[PASSWORD_LENGTH, validate_unicode])


def reset_requested_message() -> str:
    return gettext("If an account has this address, an email with a link to choose a new password is on its way. "
                   "The link works once, for %(duration)s.",
                   duration=duration(current_app.config["PASSWORD_RESET_MINUTES"], "minute"))


def _within_account_limit(email: str) -> bool:
    """Count this request against the address's PASSWORD_RESETS_PER_ACCOUNT, known account or not."""
    items = parse_many(current_app.config["PASSWORD_RESETS_PER_ACCOUNT"])
    allowed = [limiter.limiter.hit(item, "password-reset-account", email) for item in items]  # hit every one
    return all(allowed)


def request_password_reset(email: str) -> None:
    """Queue a reset link to a live account with this address, within its limit; for any other, the same work,
    and no answer before ANSWER_SECONDS: the two rows a known address adds cannot be timed."""
    started = time.monotonic()
    secret = secrets.token_urlsafe(32)
    user = db.session.scalar(select(User).where(User.email == email, User.deleted_at.is_(None)))
    if _within_account_limit(email) and user is not None:
        _queue_reset(user, secret)
    else:
        seal(secret)  # the work queue_email does with the secret
    db.session.commit()
    time.sleep(max(0.0, ANSWER_SECONDS - (time.monotonic() - started)))


def _queue_reset(user: User, secret: str) -> None:
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    db.session.add(PasswordReset(user_id=user.id, token_hash=digest(secret),
                                 expires_at=utcnow() + timedelta(minutes=minutes)))
    queue_email("password_reset", user.email, user=user, secret=secret, facts={"minutes": minutes})


def live_reset(secret: str) -> PasswordReset:
    """The reset this link's token opens, or 404 (unknown) or 410 (used or expired)."""
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == digest(secret)))
    if reset is None:
        abort(404, message=gettext("This password reset link is not known. Ask for a new one."))
    user = db.session.get(User, reset.user_id)
    if reset.used_at is not None or reset.expires_at <= utcnow() or user.deleted_at is not None:
        abort(410, message=gettext("This password reset link was used or has expired. Ask for a new one."))
    return reset


def refuse_weak_password(password: str, user: User, field: str) -> None:
    """A 422 naming `field` with the policy's reasons (backend/accounts/policy.py), if it has any."""
    problems = password_problems(password, user.email)
    if problems:
        abort(422, message=gettext("Choose another password."), errors={field: problems})


def set_password(user: User, password: str, how: str, keep=None) -> None:
    """Store the new password, end every session but `keep`, and tell the account's address."""
    user.password_hash = hash_password(password)
    revoke_all_tokens(user, keep=keep)
    queue_email("password_changed", user.email, user=user, facts={"how": how})


def complete_reset(reset: PasswordReset, password: str) -> None:
    """Set the password from a live reset; this link and every other open one of the account stop working."""
    user = db.session.get(User, reset.user_id)
    refuse_weak_password(password, user, "password")
    db.session.execute(update(PasswordReset).where(
        PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)).values(used_at=utcnow()))
    set_password(user, password, how="reset")
    if user.email_verified_at is None:  # the link reached this address: it is the account's, verified
        user.email_verified_at = utcnow()
    db.session.commit()


@blp.route("/password-resets", methods=["POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESETS_PER_ADDRESS"],
               scope="password-reset-address")
@blp.doc(security=[])
@blp.arguments(ResetRequestSchema)
@blp.response(202, ResetRequestedSchema)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def ask_for_password_reset(data):
    """Ask for a password reset link by email; the answer is the same whether an account has the address"""
    request_password_reset(data["email"])
    return {"message": reset_requested_message()}


@blp.route("/password-resets/<token>", methods=["POST"])
@blp.doc(security=[])
@blp.arguments(NewPasswordSchema)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(410, response="GONE")
def reset_password(data, token):
    """Choose a new password with a reset link's token; every session of the account ends"""
    complete_reset(live_reset(token), data["password"])


def _wrong_current_password(response) -> bool:
    return response.status_code == 422 and g.get("wrong_current_password", False)


def _caller_account_key() -> str:
    """Guesses count per account, however many tokens it holds."""
    return f"password-change:{current_user().id}"


@blp.route("/me/password", methods=["PUT"])
@login_required  # first: the throttle below counts per signed-in account
@limiter.limit(lambda: current_app.config["SIGNIN_FAILURES_PER_ACCOUNT"], key_func=_caller_account_key,
               deduct_when=_wrong_current_password, scope="password-change")
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def change_password(data):
    """Change the password; every other session of the account ends"""
    user = current_user()
    if not verify_password(user.password_hash, data["current_password"]):
        g.wrong_current_password = True
        abort(422, message=gettext("The current password is not right."),
              errors={"current_password": [gettext("The current password is not right.")]})
    refuse_weak_password(data["new_password"], user, "new_password")
    set_password(user, data["new_password"], how="change", keep=g.current_token)
    db.session.commit()
