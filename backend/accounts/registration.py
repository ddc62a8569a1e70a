"""Registration: a new account (caregiver or clinician), its address to verify.

An address that has an account answers 409 (registration grants use at once, so it cannot be hidden), but in
about the time a new account takes (the password is hashed either way), its owner is told by email, and
registrations are rate-limited per client address (REGISTRATIONS_PER_ADDRESS)."""
from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import select

from backend.accounts.blueprint import blp
from backend.accounts.emails import queue_email
from backend.accounts.models import AccountEmail, User
from backend.accounts.passwords import hash_password
from backend.accounts.schemas import UserSchema
from backend.accounts.verification import queue_verification
from backend.db_types import utcnow
from backend.extensions import db, limiter
from backend.i18n import requested_locale

ATTEMPT_NOTICE_EVERY = timedelta(hours=1)  # one "someone tried to sign up" email an hour, however many tries


@blp.route("/users", methods=["POST"])
@limiter.limit(lambda: current_app.config["REGISTRATIONS_PER_ADDRESS"], scope="registrations-address")
@blp.doc(security=[])
@blp.arguments(UserSchema)
@blp.response(201, UserSchema)
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def register(data):
    """Create an account (caregiver or clinician); a verification email goes to its address"""
    password_hash = hash_password(data["password"])  # on the 409 path too: both answers take as long
    owner = db.session.scalar(select(User).where(User.email == data["email"]))
    if owner is not None:
        tell_owner_of_attempt(owner)
        db.session.commit()
        abort(409, message=gettext("An account with this email exists."),
              errors={"email": [gettext("An account with this email exists.")]})
    user = User(email=data["email"], name=data["name"], role=data["role"], password_hash=password_hash,
                locale=data.get("locale") or requested_locale())
    db.session.add(user)
    db.session.flush()
    queue_verification(user, user.email)
    db.session.commit()
    return user


def tell_owner_of_attempt(owner: User) -> None:
    """registration_attempt to the address's owner, at most one an hour (a flood of tries is one email)."""
    if owner.deleted_at is not None:
        return
    recent = db.session.scalar(select(AccountEmail.id).where(
        AccountEmail.user_id == owner.id, AccountEmail.kind == "registration_attempt",
        AccountEmail.created_at > utcnow() - ATTEMPT_NOTICE_EVERY).limit(1))
    if recent is None:
        queue_email("registration_attempt", owner.email, user=owner)
