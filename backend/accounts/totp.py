"""Two-factor sign-in with TOTP (RFC 6238) and recovery codes (issue 21, item 5).

Set up in two steps: POST /me/totp makes a new secret (sealed at rest, not on yet), POST /me/totp/confirm
with a code from the app turns it on and shows ten single-use recovery codes once (stored as SHA-256,
like tokens: each carries 60 random bits). A code is accepted one 30-second step either side of now, and
each step only once: `totp_last_step` moves forward in a conditional UPDATE, so two requests racing with
the same code cannot both pass.
"""
import secrets

import marshmallow as ma
import pyotp
from flask import current_app, g
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import delete, or_, update

from backend.accounts.blueprint import blp
from backend.accounts.models import RecoveryCode, User
from backend.accounts.passwords import verify_password
from backend.accounts.tokens import digest
from backend.auth import current_user, login_required
from backend.crypto import seal, unseal
from backend.db_types import utcnow
from backend.extensions import db, limiter
from backend.validation import validate_unicode

ISSUER = "Myodiary"
VALID_WINDOW = 1  # steps either side of now: a phone's clock a little off still works
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
CODE_FIELD = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=32), validate_unicode])


class TotpSetupSchema(ma.Schema):
    secret = ma.fields.String(required=True, metadata={"description": "base32, for typing into the app"})
    otpauth_uri = ma.fields.String(required=True, metadata={"description": "the same secret as an otpauth:// URI"})
    qr_svg = ma.fields.String(required=True, metadata={"description": "the URI as a QR code (SVG)"})


class CodeSchema(ma.Schema):
    code = CODE_FIELD


class TurnOffSchema(ma.Schema):
    password = ma.fields.String(required=True, load_only=True, validate=validate_unicode)
    code = CODE_FIELD


class RecoveryCodesSchema(ma.Schema):
    recovery_codes = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "ten single-use codes that stand in for the app's code; shown only now"})


# Logic, shared by the API and the dashboard's account page.

def start_enrolment(user: User) -> dict:
    """A new secret for the account (sealed; not on until confirmed) and how to give it to the app."""
    secret = pyotp.random_base32()
    user.totp_secret, user.totp_last_step = seal(secret), None
    return _setup(user, secret)


def pending_setup(user: User) -> dict | None:
    """The secret made by start_enrolment and not confirmed yet, shown again (the dashboard's account page)."""
    secret = unseal(user.totp_secret) if user.totp_secret and user.totp_enabled_at is None else None
    return _setup(user, secret) if secret else None


def _setup(user: User, secret: str) -> dict:
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": qr_svg(uri)}


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code, made here (segno), with no script in it."""
    import segno

    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    if "<script" in svg.lower() or "javascript:" in svg.lower():
        raise ValueError("the QR code's SVG carries script")
    return svg


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Turn two-factor sign-in on with a code from the app: the new recovery codes, or None for a wrong code."""
    if not accept_totp(user, code):
        return None
    user.totp_enabled_at = utcnow()
    return new_recovery_codes(user)


def new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4)) for _ in range(3))
             for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=digest(_normal(code))) for code in codes)
    return codes


def turn_off(user: User, password: str, code: str) -> dict[str, list[str]] | None:
    """Turn two-factor sign-in off with the password and a code; the field errors when either is wrong."""
    if not verify_password(user.password_hash, password):
        return {"password": [gettext("Wrong password.")]}
    if not accept_second_factor(user, code):
        return {"code": [gettext("Wrong or already used code.")]}
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return None


def accept_second_factor(user: User, code: str) -> bool:
    """A code from the app, or an unused recovery code (spent now), for an account with two-factor on."""
    return accept_totp(user, code) or _spend_recovery_code(user, code)


def accept_totp(user: User, code: str) -> bool:
    """The app's code for a step within the window and after the last one accepted (no replay)."""
    secret = unseal(user.totp_secret) if user.totp_secret else None
    code = code.strip().replace(" ", "")
    if secret is None or not (code.isdigit() and len(code) == 6):
        return False
    step = _matching_step(pyotp.TOTP(secret), code)
    if step is None:
        return False
    moved = db.session.execute(update(User).where(User.id == user.id, or_(
        User.totp_last_step.is_(None), User.totp_last_step < step)).values(totp_last_step=step),
        execution_options={"synchronize_session": False}).rowcount
    user.totp_last_step = step if moved else user.totp_last_step
    return moved == 1


def _matching_step(totp: pyotp.TOTP, code: str) -> int | None:
    now = totp.timecode(utcnow())
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _spend_recovery_code(user: User, code: str) -> bool:
    return db.session.execute(update(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == digest(_normal(code)),
        RecoveryCode.used_at.is_(None)).values(used_at=utcnow()),
        execution_options={"synchronize_session": False}).rowcount == 1


def _normal(code: str) -> str:
    return "".join(code.lower().split()).replace("-", "")


def check_second_factor(user: User, otp: str | None) -> None:
    """At sign-in: nothing to do without two-factor on; else a 401 naming `otp` unless the code is good."""
    if user.totp_enabled_at is None:
        return
    if not otp:
        g.otp_missing = True
        abort(401, message=gettext("Two-factor sign-in is on: send the code from the authenticator app as otp."),
              errors={"otp": [gettext("Required: the 6-digit code from the authenticator app, or a recovery code.")]})
    if not accept_second_factor(user, otp):
        abort(401, message=gettext("Wrong or already used two-factor code."),
              errors={"otp": [gettext("Wrong or already used code.")]})


# Routes

def _wrong_code(response) -> bool:
    return response.status_code == 422


def _caller_key() -> str:
    user = g.get("current_user")
    return f"totp:{user.id}" if user is not None else "totp:anonymous"


def limit_code_attempts(view):
    """Wrong codes count toward a per-account limit, as wrong sign-ins do."""
    return limiter.limit(lambda: current_app.config["SIGNIN_FAILURES_PER_ACCOUNT"], key_func=_caller_key,
                         deduct_when=_wrong_code, scope="totp-codes")(view)


def _refuse_when_on(user: User) -> None:
    if user.totp_enabled_at is not None:
        abort(409, message=gettext("Two-factor sign-in is already on; turn it off first to set it up again."))


@blp.route("/me/totp", methods=["POST"])
@login_required
@blp.response(201, TotpSetupSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(409, response="CONFLICT")
def start_totp():
    """Set up two-factor sign-in: a new secret for the authenticator app (on after confirming a code)"""
    _refuse_when_on(current_user())
    setup = start_enrolment(current_user())
    db.session.commit()
    return setup


@blp.route("/me/totp/confirm", methods=["POST"])
@login_required
@limit_code_attempts
@blp.arguments(CodeSchema)
@blp.response(200, RecoveryCodesSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def confirm_totp(data):
    """Turn two-factor sign-in on with a code from the app; answers the recovery codes, shown only now"""
    user = current_user()
    _refuse_when_on(user)
    if user.totp_secret is None:
        abort(409, message=gettext("Start with POST /api/v1/me/totp."))
    codes = confirm_enrolment(user, data["code"])
    if codes is None:
        abort(422, errors={"code": [gettext("Wrong or already used code.")]})
    db.session.commit()
    return {"recovery_codes": codes}


@blp.route("/me/totp", methods=["DELETE"])
@login_required
@limit_code_attempts
@blp.arguments(TurnOffSchema)
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def stop_totp(data):
    """Turn two-factor sign-in off, with the password and a code from the app (or a recovery code)"""
    user = current_user()
    if user.totp_enabled_at is None:
        abort(409, message=gettext("Two-factor sign-in is not on."))
    problems = turn_off(user, data["password"], data["code"])
    if problems:
        abort(422, errors=problems)
    db.session.commit()
