"""Validators shared by schemas of several features, and what text the API takes.

Text: free text (notes) may hold any character but NUL and the other C0 controls (tab and
newlines are fine); a name, which goes into email headers and chart labels, is one line: no
control character at all (CR, LF and tab included) and no line or paragraph separator. No text
may hold a lone surrogate (`"\\ud800"` in JSON): it is half of a UTF-16 pair, not a character, and
nothing that encodes text (the databases, the password hash, email) takes it. Such strings enter
only through JSON's escapes, so `lone_surrogate_errors` checks every string of every JSON body
when it is parsed (blueprints.JsonBodyParser), whatever field it is in; the validators below
refuse them too, for text that does not come through that parser.

Messages (issue 22) are in the reader's language, field names never: the project's own through gettext where a
value fails (inside the request), and marshmallow's own ("Missing data for required field.", "Length must be
between ...") through its message templates, replaced once here by `Translated` ones that look themselves up in
the reader's catalog when marshmallow fills them in (see `translate_marshmallow`). Import this module before any
schema is defined: marshmallow copies a field's messages when the field is made.
"""
import re
import unicodedata
import zoneinfo
from collections.abc import Callable
from datetime import UTC
from functools import cache

import marshmallow as ma
from flask_babel import gettext
from marshmallow import ValidationError, fields, validate

from backend.i18n import N_, number


class Translated(str):
    """A message template for marshmallow, which keeps templates as str and fills one in (`.format(max=80)`)
    only when a value fails, inside the request: this str is the English source, and its `format` reads the
    reader's translation and fills in gettext's named placeholders (`%(max)s`), numbers in the reader's format."""

    __slots__ = ()

    def format(self, *args, **values) -> str:
        return gettext(str(self), **{name: _readable(value) for name, value in values.items()})


def _readable(value):
    return number(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


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
        raise ValidationError(gettext("Not a known IANA timezone, e.g. Europe/Berlin."))


validate_client_id = WholeMatch(CLIENT_ID, error=Translated(N_("Ids are 1-64 characters of A-Z, a-z, 0-9, _ and -.")))


class Instant(fields.AwareDateTime):
    """An ISO instant with its offset, kept in UTC (as stored, and as every response gives it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)
        except OverflowError as error:  # year 1 with a positive offset, year 9999 with a negative one
            raise ValidationError(gettext("Not a time the calendar can hold in UTC.")) from error


# ---- text ---------------------------------------------------------------------------------------

# the English source (the tests compare it); a reader reads gettext(MESSAGE)
LONE_SURROGATE_MESSAGE = N_("Not valid Unicode: a lone surrogate (half of a UTF-16 pair) is not a character.")
CONTROL_CHARACTERS_MESSAGE = N_("Control characters are not allowed.")
ONE_LINE_MESSAGE = N_("Names are one line: no line breaks, tabs or other control characters.")

LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a str holds a pair as one character: any left is alone
CONTROLS_BUT_TAB_AND_NEWLINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})  # every control (tab, CR, LF, NEL), U+2028, U+2029


def text_problem(value: str) -> str | None:
    """Why free text cannot be stored, in the reader's words, or None."""
    if LONE_SURROGATE.search(value):
        return gettext(LONE_SURROGATE_MESSAGE)
    if CONTROLS_BUT_TAB_AND_NEWLINES.search(value):
        return gettext(CONTROL_CHARACTERS_MESSAGE)
    return None


def is_one_line(value: str) -> bool:
    """No control character (CR, LF and tab included) and no line or paragraph separator."""
    return not any(unicodedata.category(character) in LINE_BREAKING for character in value)


def name_problem(value: str) -> str | None:
    """Why a name cannot be stored, in the reader's words, or None: it must stay one line in an email header or a
    chart label."""
    if LONE_SURROGATE.search(value):
        return gettext(LONE_SURROGATE_MESSAGE)
    if not is_one_line(value):
        return gettext(ONE_LINE_MESSAGE)
    return None


def validate_text(value: str) -> None:
    if problem := text_problem(value):
        raise ValidationError(problem)


def validate_filled(value: str) -> None:
    if not value.strip():
        raise ValidationError(gettext("Must not be blank."))


def validate_name(value: str) -> None:
    """A name: one line of text, and more than blanks."""
    if problem := name_problem(value):
        raise ValidationError(problem)
    validate_filled(value)


def validate_unicode(value: str) -> None:
    """Any text that can be encoded, e.g. a password: only lone surrogates are refused."""
    if LONE_SURROGATE.search(value):
        raise ValidationError(gettext(LONE_SURROGATE_MESSAGE))


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
        node[last] = [gettext(LONE_SURROGATE_MESSAGE)]
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


# ---- marshmallow's own messages in the reader's language -------------------------------------------

# Translators: the API's validation messages, shown beside a field's name (e.g. "name": ["..."])
FIELD_MESSAGES = {
    fields.Field: {"required": N_("Missing data for required field."), "null": N_("Field may not be null."),
                   "validator_failed": N_("Invalid value.")},
    fields.Nested: {"type": N_("Invalid type.")},
    fields.List: {"invalid": N_("Not a valid list.")},
    fields.Tuple: {"invalid": N_("Not a valid tuple.")},
    fields.String: {"invalid": N_("Not a valid string."), "invalid_utf8": N_("Not a valid utf-8 string.")},
    fields.UUID: {"invalid_uuid": N_("Not a valid UUID.")},
    fields.Number: {"invalid": N_("Not a valid number."), "too_large": N_("Number too large.")},
    fields.Integer: {"invalid": N_("Not a valid integer.")},
    fields.Float: {"special": N_("Special numeric values (nan or infinity) are not permitted.")},
    fields.Decimal: {"special": N_("Special numeric values (nan or infinity) are not permitted.")},
    fields.Boolean: {"invalid": N_("Not a valid boolean.")},
    fields.DateTime: {"invalid": N_("Not a valid datetime.")},
    fields.NaiveDateTime: {"invalid_awareness": N_("Not a valid naive datetime.")},
    # Translators: an aware datetime is a date and time with its UTC offset, e.g. 2026-12-03T20:00:00+01:00
    fields.AwareDateTime: {"invalid_awareness": N_("Not a valid aware datetime.")},
    fields.Time: {"invalid": N_("Not a valid time.")},
    fields.Date: {"invalid": N_("Not a valid date.")},
    fields.TimeDelta: {"invalid": N_("Not a valid period of time.")},
    fields.Mapping: {"invalid": N_("Not a valid mapping type.")},
    fields.Url: {"invalid": N_("Not a valid URL.")},
    fields.Email: {"invalid": N_("Not a valid email address.")},
    fields.Enum: {"unknown": N_("Must be one of: %(choices)s.")},
}
SCHEMA_MESSAGES = {"type": N_("Invalid input type."), "unknown": N_("Unknown field.")}
VALIDATOR_MESSAGES = {
    validate.Length: {"message_min": N_("Shorter than minimum length %(min)s."),
                      "message_max": N_("Longer than maximum length %(max)s."),
                      "message_all": N_("Length must be between %(min)s and %(max)s."),
                      "message_equal": N_("Length must be %(equal)s.")},
    validate.OneOf: {"default_message": N_("Must be one of: %(choices)s.")},
    validate.NoneOf: {"default_message": N_("Invalid input.")},
    validate.ContainsOnly: {"default_message": N_("One or more of the choices you made was not in: %(choices)s.")},
    validate.ContainsNoneOf: {"default_message": N_("One or more of the choices you made was in: %(values)s.")},
    validate.Equal: {"default_message": N_("Must be equal to %(other)s.")},
    validate.Regexp: {"default_message": N_("String does not match expected pattern.")},
    validate.Email: {"default_message": N_("Not a valid email address.")},
    validate.URL: {"default_message": N_("Not a valid URL.")},
    validate.Predicate: {"default_message": N_("Invalid input.")},
}


class _Bounds:
    """validate.Range's messages as whole sentences: marshmallow glues 'Must be' to 'greater than or equal to'
    (its `.format(min_op=..., max_op=...)` at the Range's creation), which no translator could reorder; here
    that call picks the sentence for the kinds of bound (the operators below stand for them)."""

    def __init__(self, sentences: dict[tuple[str | None, str | None], str]):
        self.sentences = {bounds: Translated(sentence) for bounds, sentence in sentences.items()}

    def format(self, min_op: str | None = None, max_op: str | None = None) -> Translated:
        return self.sentences[min_op, max_op]


RANGE_MESSAGES = {
    "message_gte": ">=", "message_gt": ">", "message_lte": "<=", "message_lt": "<",
    "message_min": _Bounds({(">=", None): N_("Must be greater than or equal to %(min)s."),
                            (">", None): N_("Must be greater than %(min)s.")}),
    "message_max": _Bounds({(None, "<="): N_("Must be less than or equal to %(max)s."),
                            (None, "<"): N_("Must be less than %(max)s.")}),
    "message_all": _Bounds({(">=", "<="): N_("Must be greater than or equal to %(min)s and less than or equal to "
                                             "%(max)s."),
                            (">=", "<"): N_("Must be greater than or equal to %(min)s and less than %(max)s."),
                            (">", "<="): N_("Must be greater than %(min)s and less than or equal to %(max)s."),
                            (">", "<"): N_("Must be greater than %(min)s and less than %(max)s.")}),
}


def _translate_messages(messages) -> None:
    """Schema-level messages (an unknown field) are stored as they are, never formatted: translated here."""
    items = messages.items() if isinstance(messages, dict) else enumerate(messages)
    for key, message in list(items):
        if isinstance(message, Translated):
            messages[key] = message.format()
        elif isinstance(message, dict | list):
            _translate_messages(message)


def _handle_error(schema: ma.Schema, error: ValidationError, data, **kwargs) -> None:
    _translate_messages(error.messages)


def translate_marshmallow() -> None:
    """Once, at import: marshmallow's message templates become Translated ones (fields and validators made
    later carry them), and every schema's failed load translates the messages it stores unformatted."""
    for cls, messages in FIELD_MESSAGES.items():
        cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}),
                                      **{key: Translated(message) for key, message in messages.items()}}
    for cls, messages in VALIDATOR_MESSAGES.items():
        for name, message in messages.items():
            setattr(cls, name, Translated(message))
    for name, message in RANGE_MESSAGES.items():
        setattr(validate.Range, name, message)
    ma.Schema._default_error_messages = {key: Translated(message) for key, message in SCHEMA_MESSAGES.items()}
    ma.Schema.handle_error = _handle_error


translate_marshmallow()
