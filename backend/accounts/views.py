"""Sign in and out, who am I (registration: registration.py; the other account routes beside it)."""
from flask import g
from flask_babel import gettext
from flask_smorest import abort

from backend.accounts.blueprint import blp
from backend.accounts.schemas import SignInSchema, TokenSchema, UserSchema
from backend.accounts.signin_limits import limit_signin
from backend.accounts.tokens import issue_token, revoke_token, user_for_credentials
from backend.accounts.totp import check_second_factor
from backend.auth import current_user, login_required
from backend.extensions import db


@blp.route("/tokens", methods=["POST"])
@limit_signin
@blp.doc(security=[])
@blp.arguments(SignInSchema)
@blp.response(201, TokenSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def sign_in(data):
    """Sign in for a bearer token (with `otp` when two-factor sign-in is on); failed attempts are rate-limited"""
    user = user_for_credentials(data["email"], data["password"])
    if user is None:
        abort(401, message=gettext("Wrong email or password."))
    check_second_factor(user, data.get("otp"))
    secret, token = issue_token(user, device_name=data.get("device_name"))
    db.session.commit()
    return {"token": secret, "expires_at": token.expires_at}


@blp.route("/tokens", methods=["DELETE"])
@login_required
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
def sign_out():
    """Sign out: revoke the token this request carries"""
    revoke_token(g.current_token)
    db.session.commit()


@blp.route("/me", methods=["GET"])
@login_required
@blp.response(200, UserSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def me():
    """The signed-in user"""
    return current_user()
