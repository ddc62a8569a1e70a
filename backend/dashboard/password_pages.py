"""Forgot your password? and the new-password form a reset link opens (issue 21, item 2).

The same steps as the API's (backend/accounts/resets.py), behind forms with a CSRF token. The reset page
carries its token in the address, so it sends no Referer anywhere.
"""
from flask import current_app, render_template, request
from flask_babel import gettext
from marshmallow import ValidationError

from backend.accounts import resets
from backend.accounts.models import PasswordReset, User
from backend.accounts.policy import MIN_LENGTH, password_problems
from backend.dashboard.blueprint import bp
from backend.extensions import db, limiter

NO_REFERRER = {"Referrer-Policy": "no-referrer"}


def _resets_per_address() -> str:
    return current_app.config["PASSWORD_RESETS_PER_ADDRESS"]


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_resets_per_address, methods=["POST"], scope="password-reset-address")
def forgot_password():
    if request.method == "GET":
        return render_template("dashboard/forgot_password.html")
    try:
        email = resets.ResetRequestSchema().load({"email": request.form.get("email", "")})["email"]
    except ValidationError:
        return render_template("dashboard/forgot_password.html", email=request.form.get("email", ""),
                               problems=[gettext("Enter the email address of your account.")]), 422
    resets.request_password_reset(email)
    return render_template("dashboard/forgot_password.html", sent=resets.reset_requested_message())


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password_page():
    token = request.values.get("token", "")
    reset = resets.live_reset(token)  # 404 or 410: the error page says so
    if request.method == "GET":
        return render_template("dashboard/reset_password.html", token=token, min_length=MIN_LENGTH), 200, NO_REFERRER
    password = request.form.get("password", "")
    problems = _problems(password, reset)
    if problems:
        return render_template("dashboard/reset_password.html", token=token, problems=problems,
                               min_length=MIN_LENGTH), 422, NO_REFERRER
    resets.complete_reset(reset, password)
    return render_template("dashboard/reset_password.html", done=True), 200, NO_REFERRER


def _problems(password: str, reset: PasswordReset) -> list[str]:
    """Why the form's password is refused: its length and characters, then the policy."""
    field_problems = resets.NewPasswordSchema().validate({"password": password}).get("password", [])
    return field_problems or password_problems(password, db.session.get(User, reset.user_id).email)
