"""Dashboard sign-in: the same accounts as the API, a session cookie, CSRF on every form.

The session cookie (signed, HttpOnly, SameSite=Lax, Secure in production) carries an opaque token
of the same kind as the API's bearer tokens, so it expires and is revoked the same way; signing
out revokes it. Flask-WTF checks a CSRF token on every POST of the dashboard.
"""
from functools import wraps
from urllib.parse import urlsplit

from flask import g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError, validate_csrf

from backend.accounts.models import User
from backend.accounts.tokens import issue_token, revoke_token, user_for_credentials, valid_token
from backend.extensions import db
from backend.validation import is_one_line

SESSION_KEY = "dashboard_token"


def sign_in(email: str, password: str) -> User | None:
    user = user_for_credentials(email, password)
    if user is None:
        return None
    secret, _ = issue_token(user)
    db.session.commit()
    session.clear()  # a fresh session: no fixation
    session[SESSION_KEY] = secret
    session.permanent = True
    return user


def sign_out() -> None:
    token = valid_token(session.get(SESSION_KEY, "")) if session.get(SESSION_KEY) else None
    if token is not None:
        revoke_token(token)
        db.session.commit()
    session.clear()


def signed_in_user() -> User | None:
    secret = session.get(SESSION_KEY)
    token = valid_token(secret) if secret else None
    if token is None:
        return None
    g.current_token, g.current_user = token, token.user
    return token.user


def page_login_required(view):
    """Pages behind this decorator find the user in g.current_user; others go to the sign-in form."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if signed_in_user() is None:
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def check_csrf() -> None:
    """Every state-changing dashboard request carries the form's CSRF token (Flask-WTF)."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        try:
            validate_csrf(request.form.get("csrf_token"))
        except Exception as error:  # flask_wtf raises ValidationError for missing, expired or wrong tokens
            raise CSRFError(str(error)) from error


def safe_next(target: str | None) -> str:
    """Only a path on this site, and one line (a line break would split the Location header): never an
    open redirect, never a 500."""
    if not target or not is_one_line(target):
        return url_for("dashboard.patients_list")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/dashboard"):
        return url_for("dashboard.patients_list")
    return target
