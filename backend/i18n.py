"""Languages (issue 22): Flask-Babel with gettext catalogs under backend/translations/.

English is the source language. Adding a language is its catalog (`make translations` creates and updates
them; `pybabel init -l xx` starts one) and one entry in LOCALES. Who reads which language: a signed-in
account its own `locale`; anyone else the best match of the request's Accept-Language, else English.
"""
from pathlib import Path

from flask import Flask, g, has_request_context, request
from flask_babel import Babel

LOCALES = ("en", "es", "de")  # English, Spanish, German
DEFAULT_LOCALE = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()


def requested_locale() -> str:
    """The best of LOCALES for the request's Accept-Language, else English (registration keeps it)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def select_locale() -> str:
    user = g.get("current_user") if has_request_context() else None
    return user.locale if user is not None and user.locale in LOCALES else requested_locale()


def install(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS),
                   default_locale=DEFAULT_LOCALE)
