"""The account page: signed-in devices, two-factor sign-in (issue 21, items 5 and 6).

The same operations as the API's /me/tokens and /me/totp (backend.accounts.devices and .totp), as forms.
"""
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup

from backend.accounts import totp
from backend.accounts.devices import live_tokens, revoke_device
from backend.accounts.models import Token
from backend.dashboard import auth
from backend.dashboard.blueprint import bp
from backend.extensions import db


def _account_page(status: int = 200, **context):
    user = g.current_user
    devices = db.session.scalars(live_tokens(user).order_by(Token.created_at.desc(), Token.id.desc())).all()
    setup = totp.pending_setup(user)
    qr = Markup(setup["qr_svg"]) if setup else None  # made here by segno and checked for script: safe inline
    return render_template("dashboard/account.html", devices=devices, setup=setup, qr=qr,
                           must_enrol=auth.must_enrol(user), **context), status


@bp.route("/account", methods=["GET"])
@auth.page_login_required
def account():
    return _account_page()


@bp.route("/account/devices/<token_id>/sign-out", methods=["POST"])
@auth.page_login_required
def sign_out_device(token_id):
    if revoke_device(g.current_user, token_id):
        db.session.commit()
        flash(gettext("That device is signed out."))
    if token_id == g.current_token.id:
        return redirect(url_for("dashboard.login"))
    return redirect(url_for("dashboard.account"))


@bp.route("/account/totp", methods=["POST"])
@auth.page_login_required
def start_totp():
    if g.current_user.totp_enabled_at is None:
        totp.start_enrolment(g.current_user)
        db.session.commit()
    return redirect(url_for("dashboard.account") + "#two-factor")


@bp.route("/account/totp/confirm", methods=["POST"])
@auth.page_login_required
@totp.limit_code_attempts
def confirm_totp():
    user = g.current_user
    codes = totp.confirm_enrolment(user, request.form.get("code", "")) if user.totp_enabled_at is None else None
    if codes is None:
        return _account_page(422, code_error=gettext("Wrong or already used code: try the code the app shows now."))
    db.session.commit()
    return _account_page(recovery_codes=codes)


@bp.route("/account/totp/off", methods=["POST"])
@auth.page_login_required
@totp.limit_code_attempts
def stop_totp():
    user = g.current_user
    if user.totp_enabled_at is None:
        return redirect(url_for("dashboard.account"))
    problems = totp.turn_off(user, request.form.get("password", ""), request.form.get("code", ""))
    if problems:
        return _account_page(422, off_errors=problems)
    db.session.commit()
    flash(gettext("Two-factor sign-in is off."))
    return redirect(url_for("dashboard.account"))
