"""Which language the dashboard speaks to its reader, and the switcher on every page (issue 22).

Signed in, the account's own locale (backend.i18n.select_locale reads g.current_user, set here before anything is
rendered); the switcher changes the account's locale, as PATCH /me does, so the API and the emails follow too.
Signed out, a language chosen with the switcher is kept in the signed session and wins over Accept-Language for
the dashboard's pages; signing out keeps the language the account read in.
"""
from flask import g, request, session

from backend.dashboard import auth
from backend.extensions import db
from backend.i18n import LOCALE_SESSION_KEY, locales


def choose_for_request() -> None:
    """Before the page: look up the reader, so that select_locale finds the account (signed out it reads the
    session's choice, else Accept-Language)."""
    if request.endpoint != "dashboard.static":
        auth.signed_in_user()


def choose(code: str) -> bool:
    """The switcher's choice: the account's language when signed in, else this browser's for the dashboard."""
    if code not in locales():
        return False
    user = g.get("current_user")
    if user is not None:
        user.locale = code
        db.session.commit()
    else:
        session[LOCALE_SESSION_KEY] = code
    return True
