"""Dashboard sign-in: the same accounts as the API, a server-side session, CSRF on every form.

A dashboard session is a Token of kind "dashboard" (backend.accounts.tokens): the signed, HttpOnly,
SameSite=Lax cookie (Secure in production) carries only its secret, which the API refuses as a bearer
token; it expires server-side at DASHBOARD_SESSION_HOURS as the cookie does, and signing out revokes it.
With two-factor sign-in on, the password step keeps only "this account passed the password at T" in the
signed session for PENDING_MINUTES; the code step then opens the session. Flask-WTF checks a CSRF token on
every POST of the dashboard.
"""
from datetime import UTC, datetime, timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import flash, g, redirect, request, session, url_for
from flask_babel import gettext
from flask_wtf.csrf import CSRFError, validate_csrf

from backend.accounts.devices import dashboard_device_name
from backend.accounts.models import User
from backend.accounts.signin_limits import PENDING_EMAIL
from backend.accounts.tokens import issue_token, must_enrol, note_use, revoke_token, user_for_credentials, valid_token
from backend.accounts.totp import accept_second_factor
from backend.db_types import utcnow
from backend.extensions import db
from backend.i18n import LOCALE_SESSION_KEY
from backend.validation import is_one_line

SESSION_KEY = "dashboard_session"
PENDING_KEY = "password_passed"  # {"user_id", "at"}: the first step of a two-factor sign-in
PENDING_MINUTES = 5
LANGUAGE_KEY = LOCALE_SESSION_KEY  # the language chosen while signed out (backend/dashboard/language.py)
# What a clinician who must turn on two-factor sign-in may still open (REQUIRE_CLINICIAN_2FA).
ENROLMENT_PAGES = frozenset({"dashboard.account", "dashboard.start_totp", "dashboard.confirm_totp"})


def check_password(email: str, password: str) -> User | None:
    """The first step: the account, with the session either opened (no two-factor) or waiting for the code."""
    user = user_for_credentials(email, password)
    if user is None:
        return None
    if user.totp_enabled_at is None:
        open_session(user)
    else:
        session.clear()
        session[PENDING_KEY] = {"user_id": user.id, "at": utcnow().isoformat()}
        session[PENDING_EMAIL] = user.email  # the sign-in limits count wrong codes against this account
    return user


def pending_user() -> User | None:
    """The account that passed the password in this browser within PENDING_MINUTES, if any."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    passed_at = datetime.fromisoformat(pending.get("at", "1970-01-01T00:00:00+00:00")).astimezone(UTC)
    if utcnow() - passed_at > timedelta(minutes=PENDING_MINUTES):
        return None
    return db.session.get(User, pending.get("user_id", ""))


def check_code(code: str) -> User | None:
    """The second step: the pending account, its session opened, when the code (or a recovery code) is good."""
    user = pending_user()
    if user is None or not accept_second_factor(user, code):
        return None
    open_session(user)
    return user


def open_session(user: User) -> None:
    secret, _ = issue_token(user, kind="dashboard",
                            device_name=dashboard_device_name(request.headers.get("User-Agent", "")))
    db.session.commit()
    session.clear()  # a fresh session: no fixation
    session[SESSION_KEY] = secret
    session.permanent = True


def sign_out() -> None:
    """The session's token revoked; the page goes on in the language the account read in."""
    token = _session_token()
    language = token.user.locale if token is not None else session.get(LANGUAGE_KEY)
    if token is not None:
        revoke_token(token)
        db.session.commit()
    session.clear()
    if language:
        session[LANGUAGE_KEY] = language


def _session_token():
    secret = session.get(SESSION_KEY)
    return valid_token(secret, kind="dashboard") if isinstance(secret, str) and secret else None


def signed_in_user() -> User | None:
    token = _session_token()
    if token is None:
        return None
    note_use(token)
    g.current_token, g.current_user = token, token.user
    return token.user


def page_login_required(view):
    """Pages behind this decorator find the user in g.current_user; others go to the sign-in form. A clinician
    who must turn on two-factor sign-in is sent to the account page to do so."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = signed_in_user()
        if user is None:
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        if must_enrol(user) and request.endpoint not in ENROLMENT_PAGES:
            flash(gettext("Turn on two-factor sign-in first: this clinic asks every clinician to use it."), "error")
            return redirect(url_for("dashboard.account"))
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
