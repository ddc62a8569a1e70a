"""The page a verification link opens (issue 21, item 1).

Opening the link changes nothing (mail scanners follow links): the page asks, and its form's POST (CSRF
checked, as every dashboard form) verifies the address. Errors (unknown, expired, spent) are the dashboard's
error page with the API's words.
"""
from flask import render_template, request

from backend.accounts.verification import verify
from backend.dashboard.blueprint import bp
from backend.extensions import db


@bp.route("/verify-email", methods=["GET"])
def verify_email_page():
    return render_template("dashboard/verify_email.html", token=request.args.get("token", ""), done=False)


@bp.route("/verify-email", methods=["POST"])
def confirm_email():
    verify(request.form.get("token", ""))
    db.session.commit()
    return render_template("dashboard/verify_email.html", token="", done=True)
