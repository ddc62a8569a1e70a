"""Registration: a new account (caregiver or clinician)."""
from flask_smorest import abort
from sqlalchemy import select

from backend.accounts.blueprint import blp
from backend.accounts.models import User
from backend.accounts.passwords import hash_password
from backend.accounts.schemas import UserSchema
from backend.extensions import db


@blp.route("/users", methods=["POST"])
@blp.doc(security=[])
@blp.arguments(UserSchema)
@blp.response(201, UserSchema)
@blp.alt_response(409, response="CONFLICT")
def register(data):
    """Create an account (caregiver or clinician)"""
    if db.session.scalar(select(User.id).where(User.email == data["email"])):
        abort(409, message="An account with this email exists.",
              errors={"email": ["An account with this email exists."]})
    user = User(email=data["email"], name=data["name"], role=data["role"],
                password_hash=hash_password(data["password"]))
    db.session.add(user)
    db.session.commit()
    return user
