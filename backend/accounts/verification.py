"""Email verification and changing the email (issue 21, items 1 and 3).

A verification token is signed, not stored: itsdangerous over (user id, address) with a salt of its own, so it
proves nothing but "this address belongs to this account", and expires after EMAIL_VERIFICATION_HOURS. It is
spent once the address it names is verified (or no longer on the account).
"""
import marshmallow as ma
from flask import current_app, g
from flask_babel import gettext
from flask_smorest import abort
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from marshmallow import fields, validate
from sqlalchemy import select

from backend.accounts.blueprint import blp
from backend.accounts.emails import queue_email
from backend.accounts.models import User
from backend.accounts.schemas import LowerEmail, UserSchema
from backend.auth import current_user, login_required
from backend.db_types import utcnow
from backend.extensions import db, limiter
from backend.i18n import LOCALES
from backend.validation import validate_name, validate_unicode

SALT = "myodiary-verify-email"


class VerificationSchema(ma.Schema):
    token = fields.String(required=True, validate=[validate.Length(min=1, max=512), validate_unicode], metadata={
        "description": "the token of the verification email's link"})


class MePatchSchema(ma.Schema):
    email = LowerEmail(validate=validate.Length(max=254), metadata={
        "description": "a new address: kept in `pending_email`, with a verification email to it, until verified"})
    name = fields.String(validate=[validate.Length(min=1, max=80), validate_name])
    locale = fields.String(validate=validate.OneOf(LOCALES), metadata={
        "description": "the language of this account's emails and pages"})


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def verification_token(user: User, address: str) -> str:
    return _serializer().dumps({"user": user.id, "address": address})


def queue_verification(user: User, address: str) -> None:
    """The verify_email to `address`, committed with the caller's write."""
    queue_email("verify_email", address, user=user, secret=verification_token(user, address),
                facts={"hours": current_app.config["EMAIL_VERIFICATION_HOURS"]})


def _claims(token: str) -> dict:
    """What a live token says, or 404 (unknown) / 410 (expired) in the one error shape."""
    try:
        claims = _serializer().loads(token, max_age=current_app.config["EMAIL_VERIFICATION_HOURS"] * 3600)
    except SignatureExpired:
        abort(410, message=gettext("This verification link has expired; ask for a new one in the app."))
    except BadSignature:
        abort(404, message=gettext("This verification link is not known."))
    if not isinstance(claims, dict) or not {"user", "address"} <= claims.keys():
        abort(404, message=gettext("This verification link is not known."))
    return claims


def verify(token: str) -> None:
    """Verify the address the token was issued for; a pending address becomes the account's email."""
    claims = _claims(token)
    user = db.session.get(User, claims["user"])
    if user is None or user.deleted_at is not None:
        abort(404, message=gettext("This verification link is not known."))
    if claims["address"] == user.pending_email:
        _take_pending(user)
    elif claims["address"] == user.email and user.email_verified_at is None:
        user.email_verified_at = utcnow()
    else:
        abort(410, message=gettext("This verification link was already used, or is for an address no longer on the "
                                   "account."))


def _take_pending(user: User) -> None:
    """The pending address becomes the email; the old address is told, with the new one half hidden."""
    new = user.pending_email
    if db.session.scalar(select(User.id).where(User.email == new, User.id != user.id)):
        abort(409, message=gettext("Another account uses this address now; it cannot be verified for this one."))
    old = user.email
    user.email, user.pending_email, user.email_verified_at = new, None, utcnow()
    queue_email("email_changed", old, user=user, facts={"new_address": masked(new)})


def masked(address: str) -> str:
    """n***@example.org: enough for its owner to recognise, not to read off."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def change_email(user: User, address: str) -> None:
    """A new address waits in pending_email until verified; `email` stays in use meanwhile.

    An address that another account uses gets the same answer as any other (no enumeration) but no email:
    the requester sees a pending address that never verifies, and the other account's owner is not mailed
    a link for an account that is not theirs. (Registration still answers 409, which it cannot hide: it
    grants use at once.)"""
    if address == user.email:
        user.pending_email = None
        return
    user.pending_email = address
    if not db.session.scalar(select(User.id).where(User.email == address)):
        queue_verification(user, address)


def _account_key() -> str:
    user = g.get("current_user")
    return f"verification:{user.id}" if user is not None else "verification:anonymous"


@blp.route("/email-verifications", methods=["POST"])
@blp.doc(security=[])
@blp.arguments(VerificationSchema)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(410, response="GONE")
def verify_email(data):
    """Verify an email address with the token of its verification email"""
    verify(data["token"])
    db.session.commit()


@blp.route("/me/email-verification", methods=["POST"])
@login_required  # first: the limit counts per signed-in account
@limiter.limit(lambda: current_app.config["VERIFICATION_EMAILS_PER_ACCOUNT"], key_func=_account_key,
               scope="verification-emails")
@blp.response(202)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def resend_verification():
    """Send the verification email again (to the pending address, if any); rate-limited"""
    user = current_user()
    address = user.pending_email or (user.email if user.email_verified_at is None else None)
    if address is None:
        abort(409, message=gettext("Your email address is already verified."))
    if address == user.email or not db.session.scalar(select(User.id).where(User.email == address)):
        queue_verification(user, address)
    db.session.commit()


@blp.route("/me", methods=["PATCH"])
@login_required
@blp.arguments(MePatchSchema)
@blp.response(200, UserSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def update_me(data):
    """Change the name, the language, or the email (kept until the new address is verified)"""
    user = current_user()
    for field in ("name", "locale"):
        if field in data:
            setattr(user, field, data[field])
    if "email" in data:
        change_email(user, data["email"])
    db.session.commit()
    return user
