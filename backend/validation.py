"""Validators shared by schemas of several features, and what text the API takes.

Text: free text (notes) may hold any character but NUL and the other C0 controls (tab and
newlines are fine); a name, which goes into email headers and chart labels, is one line: no
control character at all (CR, LF and tab included) and no line or paragraph separator. No text
may hold a lone surrogate (`"\\ud800"` in JSON): it is half of a UTF-16 pair, not a character, and
nothing that encodes text (the databases, the password hash, email) takes it. Such strings enter
only through JSON's escapes, so `lone_surrogate_errors` checks every string of every JSON body
when it is parsed (blueprints.JsonBodyParser), whatever field it is in; the validators below
refuse them too, for text that does not come through that parser.
"""
import re
import unicodedata
import zoneinfo
from collections.abc import Callable
from datetime import UTC
from functools import cache

from marshmallow import ValidationError, fields, validate

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class WholeMatch(validate.Regexp):
    """A pattern the whole value must match (`$` alone lets a final newline through); the spec shows it."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in known_timezones():
        raise ValidationError("Not a known IANA timezone, e.g. Europe/Berlin.")


validate_client_id = WholeMatch(CLIENT_ID, error="Ids are 1-64 characters of A-Z, a-z, 0-9, _ and -.")


class Instant(fields.AwareDateTime):
    """An ISO instant with its offset, kept in UTC (as stored, and as every response gives it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)
        except OverflowError as error:  # year 1 with a positive offset, year 9999 with a negative one
            raise ValidationError("Not a time the calendar can hold in UTC.") from error


# ---- text ---------------------------------------------------------------------------------------

LONE_SURROGATE_MESSAGE = "Not valid Unicode: a lone surrogate (half of a UTF-16 pair) is not a character."
CONTROL_CHARACTERS_MESSAGE = "Control characters are not allowed."
ONE_LINE_MESSAGE = "Names are one line: no line breaks, tabs or other control characters."

LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a str holds a pair as one character: any left is alone
CONTROLS_BUT_TAB_AND_NEWLINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})  # every control (tab, CR, LF, NEL), U+2028, U+2029


def text_problem(value: str) -> str | None:
    """Why free text cannot be stored, or None."""
    if LONE_SURROGATE.search(value):
        return LONE_SURROGATE_MESSAGE
    if CONTROLS_BUT_TAB_AND_NEWLINES.search(value):
        return CONTROL_CHARACTERS_MESSAGE
    return None


def is_one_line(value: str) -> bool:
    """No control character (CR, LF and tab included) and no line or paragraph separator."""
    return not any(unicodedata.category(character) in LINE_BREAKING for character in value)


def name_problem(value: str) -> str | None:
    """Why a name cannot be stored, or None: it must stay one line in an email header or a chart label."""
    if LONE_SURROGATE.search(value):
        return LONE_SURROGATE_MESSAGE
    if not is_one_line(value):
        return ONE_LINE_MESSAGE
    return None


def validate_text(value: str) -> None:
    if problem := text_problem(value):
        raise ValidationError(problem)


def validate_filled(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def validate_name(value: str) -> None:
    """A name: one line of text, and more than blanks."""
    if problem := name_problem(value):
        raise ValidationError(problem)
    validate_filled(value)


def validate_unicode(value: str) -> None:
    """Any text that can be encoded, e.g. a password: only lone surrogates are refused."""
    if LONE_SURROGATE.search(value):
        raise ValidationError(LONE_SURROGATE_MESSAGE)


# ---- lone surrogates anywhere in a JSON body ---------------------------------------------------

SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # the only way into JSON: raw, they are invalid UTF-8
Place = tuple[str | int, ...]


def lone_surrogate_errors(raw: bytes, body, name_place: Callable[[Place, object], Place] | None = None) -> dict:
    """Field -> message for every string of a parsed JSON body (keys too) holding a lone surrogate.

    A body without a surrogate escape in its text is not walked, so a large push costs one scan of
    its bytes. Places are named by keys and list indexes, as marshmallow names them, unless
    `name_place(place, body)` names them otherwise (the sync push: table, record id, column).
    """
    if not SURROGATE_ESCAPE.search(raw):
        return {}
    errors: dict = {}
    for place in _lone_surrogate_places(body):
        *parents, last = name_place(place, body) if name_place else place
        node = errors
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = [LONE_SURROGATE_MESSAGE]
    return errors


def _lone_surrogate_places(body) -> list[Place]:
    """Where the strings with lone surrogates are, in the body's order; iterative, as a body may be
    nested hundreds deep."""
    found, pending = [], [((), body)]
    while pending:
        place, value = pending.pop()
        if isinstance(value, str):
            if LONE_SURROGATE.search(value):
                found.append(place or ("_schema",))
        elif isinstance(value, dict):
            for key in value:
                if LONE_SURROGATE.search(key):
                    found.append((*place, escape_lone_surrogates(key)))
            pending.extend(reversed([((*place, key), item) for key, item in value.items()
                                     if not LONE_SURROGATE.search(key)]))
        elif isinstance(value, list):
            pending.extend(reversed([((*place, index), item) for index, item in enumerate(value)]))
    return found


def escape_lone_surrogates(text: str) -> str:
    """The text with each lone surrogate written as JSON escapes it (\\ud800), fit to be a key anywhere."""
    return text.encode("utf-8", "backslashreplace").decode()
