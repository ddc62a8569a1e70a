"""Which language the dashboard speaks to its reader, and the switcher on every page (issue 22).

Signed in, the account's own locale (backend.i18n.select_locale reads g.current_user, set here before anything is
rendered); the switcher changes the account's locale, as PATCH /me does, so the API and the emails follow too.
Signed out, a language chosen with the switcher is kept in the signed session and wins over Accept-Language for
the dashboard's pages; signing out keeps the language the account read in.
"""
from contextlib import ExitStack

from flask import g, request, session
from flask_babel import force_locale

from backend.dashboard import auth
from backend.extensions import db
from backend.i18n import locales

CHOSEN_KEY = auth.LANGUAGE_KEY


def choose_for_request() -> None:
    """Before the page: the reader (so select_locale finds the account), or else the language chosen signed out."""
    if request.endpoint == "dashboard.static":
        return
    user = auth.signed_in_user()
    chosen = session.get(CHOSEN_KEY)
    if user is None and chosen in locales():
        stack = ExitStack()
        stack.enter_context(force_locale(chosen))
        g.dashboard_language = stack


def end_of_request(_error=None) -> None:
    stack = g.pop("dashboard_language", None)
    if stack is not None:
        stack.close()


def choose(code: str) -> bool:
    """The switcher's choice: the account's language when signed in, else this browser's for the dashboard."""
    if code not in locales():
        return False
    user = g.get("current_user")
    if user is not None:
        user.locale = code
        db.session.commit()
    else:
        session[CHOSEN_KEY] = code
    return True
