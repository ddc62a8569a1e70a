"""Languages (issue 22): Flask-Babel with gettext catalogs under backend/translations/.

English is the source language. Adding a language is its catalog (`make translations` creates and updates
them; `pybabel init -l xx` starts one) and one entry in LOCALES. Who reads which language: a signed-in
account its own `locale`; anyone else the best match of the request's Accept-Language, else English. An email
is written in its recipient's locale (`flask_babel.force_locale`), so co-parents may read two languages.

Words and numbers are rendered when they are read, in the reader's locale: `lazy_gettext`/`lazy_ngettext` for
words, and the formatters below for numbers, dates and durations, which stay lazy too when used as a lazy
message's variables. So one report, built once, reads in every language (the kept summaries keep one rendering
per locale).
"""
import decimal
import math
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel import units as babel_units
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_babel import Babel, LazyString, gettext, ngettext
from flask_babel import get_locale as babel_locale
from markupsafe import Markup, escape

LOCALES = ("en", "es", "de")  # English, Spanish, German
DEFAULT_LOCALE = "en"
FORMATS = {"en": Locale.parse("en_GB")}  # the product's English is British: colour, 3 December 2026, 20:00
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()


def locales() -> tuple[str, ...]:
    """The app's languages: LOCALES, or the LOCALES setting (the tests add a pseudo-locale this way)."""
    return tuple(current_app.config.get("LOCALES") or LOCALES) if has_app_context() else LOCALES


def offered(locale: str | None) -> str:
    """The locale when the app offers it, else English: an account may keep a language no longer offered."""
    return locale if locale in locales() else DEFAULT_LOCALE


def requested_locale() -> str:
    """The best of the app's languages for the request's Accept-Language, else English (registration keeps it).

    In the reader's order of preference, a language matches by its primary tag: 'de-AT, en;q=0.5' is German."""
    if not has_request_context():
        return DEFAULT_LOCALE
    offered = locales()
    for tag, _quality in request.accept_languages:  # highest quality first
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in offered:
            return primary
    return DEFAULT_LOCALE


LOCALE_SESSION_KEY = "locale"  # the dashboard's language chosen while signed out (backend/dashboard/language.py)


def select_locale() -> str:
    """The account's language; signed out, on the dashboard, the switcher's choice; else Accept-Language."""
    if not has_request_context():
        return DEFAULT_LOCALE
    user = g.get("current_user")
    if user is not None and user.locale in locales():
        return user.locale
    chosen = session.get(LOCALE_SESSION_KEY) if request.blueprint == "dashboard" else None
    return chosen if chosen in locales() else requested_locale()


def reading_locale() -> Locale:
    """The language the reader reads now: the request's or the forced one, or English outside the app."""
    return (babel_locale() if has_app_context() else None) or Locale.parse(DEFAULT_LOCALE)


def current_locale() -> Locale:
    """The locale numbers and dates are formatted in now (CLDR): the reader's, English written British."""
    locale = reading_locale()
    return FORMATS.get(str(locale), locale)


def language_tag() -> str:
    """'de', 'es': the BCP 47 tag of the current language, for `lang` attributes and Content-Language."""
    return str(reading_locale()).replace("_", "-")


def first_week_day() -> int:
    """0 for Monday ... 6 for Sunday: where the current locale's calendar weeks start (CLDR)."""
    return current_locale().first_week_day


def N_(message: str) -> str:
    """Marks a message for the catalogs without translating it: `gettext(MESSAGE)` where it is read."""
    return message


class _Lazy(LazyString):
    """Rendered in the current locale each time it is read; usable as a lazy message's %(variable)s.

    In a template it is escaped like any text: Flask-Babel's own LazyString tells Jinja it is safe HTML, which
    would let a child's or a medicine's name inside a message through unescaped."""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __html__(self) -> Markup:
        return escape(str(self))


def lazy_gettext(string: str, **variables) -> _Lazy:
    """flask_babel.lazy_gettext, escaped in templates: use this one (make translations extracts it)."""
    return _Lazy(gettext, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables) -> _Lazy:
    """flask_babel.lazy_ngettext, escaped in templates."""
    return _Lazy(ngettext, singular, plural, num, **variables)


def lazy(func, *args, **kwargs) -> _Lazy:
    """Any rendering put off until it is read: `lazy(caregiver_summary, report)`."""
    return _Lazy(func, *args, **kwargs)


def decimal_text(value: float | int, pattern: str | None = None, locale: Locale | None = None) -> str:
    """A number in the locale's format now. NaN and infinity as CLDR writes them; a number too large for the
    pattern's decimals (Babel's decimal context refuses it) in scientific notation."""
    return _decimal_text(value, pattern, locale or current_locale())


# Formatting is pure: a list of 500 patients writes the same rates, ages and days many times over.
@lru_cache(maxsize=16384)
def _decimal_text(value: float | int, pattern: str | None, locale: Locale) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return babel_numbers.format_decimal(value, locale=locale)
    try:
        return babel_numbers.format_decimal(value, format=pattern, locale=locale)
    except decimal.InvalidOperation:
        return babel_numbers.format_scientific(value, format="0.##E0", locale=locale)


@lru_cache(maxsize=4096)
def _date_text(value: date | datetime, length: str, locale: Locale) -> str:
    return babel_dates.format_date(value, format=length, locale=locale)


@lru_cache(maxsize=4096)
def _unit_text(value: float | int, unit: str, length: str, locale: Locale) -> str:
    return babel_units.format_unit(value, f"duration-{unit}", length=length, locale=locale)


def number(value: float | int, pattern: str | None = None) -> _Lazy:
    """A number in the reader's format (1,234.5 / 1.234,5), `pattern` like '0.00' fixing the decimals."""
    return _Lazy(decimal_text, value, pattern)


def _percent_text(value: float, pattern: str | None) -> str:
    if not math.isfinite(value) or abs(value) > 1e12:
        return decimal_text(value * 100) + "%"
    return babel_numbers.format_percent(value, format=pattern, locale=current_locale())


def percent(value: float, pattern: str | None = None) -> _Lazy:
    """A share as the reader writes it: '64%', '64 %' (es, de)."""
    return _Lazy(_percent_text, value, pattern)


def day(value: date | datetime, length: str = "long") -> _Lazy:
    """A date in the reader's words: '3 December 2026', '3 de diciembre de 2026', '3. Dezember 2026'."""
    return _Lazy(lambda: _date_text(value, length, current_locale()))


def day_pattern(value: date | datetime, skeleton: str) -> _Lazy:
    """A date by CLDR skeleton in the reader's order: 'MMMd' gives 'Dec 3', '3 dic', '3. Dez.'."""
    return _Lazy(lambda: babel_dates.format_skeleton(skeleton, value, locale=current_locale()))


def time_of_day(value: datetime, length: str = "short") -> _Lazy:
    """'20:00', '8:00 PM' (en): a local time in the reader's format (the value already local)."""
    return _Lazy(lambda: babel_dates.format_time(value, format=length, locale=current_locale()))


def duration(value: float | int, unit: str, length: str = "long") -> _Lazy:
    """'11 weeks', '11 Wochen', '5 meses': a count of a CLDR unit ('week', 'month', 'day', 'minute', 'second')
    with the locale's own plural forms."""
    return _Lazy(lambda: _unit_text(value, unit, length, current_locale()))


def file_size(size: int, exact: bool = False) -> str:
    """'300 MB', '64 kB', '999 bytes', '1.234 Byte' in the reader's format (CLDR units); `exact`: in bytes."""
    if exact or size < 1_000:
        return babel_units.format_unit(size, "digital-byte", length="long", locale=current_locale())
    unit, scale = ("digital-megabyte", 1_000_000) if size >= 1_000_000 else ("digital-kilobyte", 1_000)
    return babel_units.format_unit(round(size / scale), unit, length="short", locale=current_locale())


def install(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS),
                   default_locale=DEFAULT_LOCALE)

    @app.context_processor
    def _language():  # every template: <html lang="{{ language_tag() }}">
        return {"language_tag": language_tag, "locales": locales}
