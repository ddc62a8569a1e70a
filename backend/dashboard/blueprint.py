"""The dashboard's blueprint: its security headers, CSRF check and error page.

Each page module adds its routes to it (views.py: sign-in, the patient list and page; the account pages
beside it); backend/dashboard/pages.py imports them all.
"""
from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from backend.dashboard import auth, labels, language

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static", static_url_path="/static")
PAGE_POLICY = {"default-src": "'self'", "img-src": "'self' data:", "media-src": "'none'", "style-src": "'self'",
               "script-src": "'self'", "object-src": "'none'", "base-uri": "'none'", "form-action": "'self'",
               "frame-ancestors": "'none'"}
# The patient page plays its episodes' videos, served by this app (never a storage's presigned URL).
PATIENT_PAGE_POLICY = {**PAGE_POLICY, "media-src": "'self'"}


def content_security_policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {sources}" for name, sources in directives.items())


SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(PAGE_POLICY),
    "Referrer-Policy": "same-origin",  # nosniff and DENY framing: backend/headers.py, on every response
    "Cache-Control": "no-store",
}
VIDEO_CACHE = "private, no-store"  # a clinic's shared computer keeps no copy of a family's video
# The pages an emailed link opens: their errors keep the API's own words (expired: "Ask for a new one"); any
# other page's error is explained by the dashboard itself (a 404 never says more than "not found").
LINK_PAGES = frozenset({"dashboard.verify_email_page", "dashboard.confirm_email", "dashboard.reset_password_page"})


@bp.record_once
def _root_opens_the_dashboard(state) -> None:
    state.app.add_url_rule("/", "root", lambda: redirect(url_for("dashboard.patients_list")))


@bp.context_processor
def _helpers() -> dict:
    return labels.helpers()


@bp.before_request
def _language() -> None:  # first, so that even a refused form's error page reads in the reader's language
    language.choose_for_request()


@bp.before_request
def _csrf() -> None:
    auth.check_csrf()


@bp.after_request
def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.errorhandler(HTTPException)
def _error_page(error: HTTPException):
    title, explanation = labels.error_words(error)
    given = (getattr(error, "data", None) or {}).get("message") if request.endpoint in LINK_PAGES else None
    message = given or explanation
    return render_template("dashboard/error.html", error=error, title=title, message=message,
                           return_to=url_for("dashboard.patients_list")), error.code  # never echo the refused path
