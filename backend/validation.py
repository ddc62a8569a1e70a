"""Validators shared by schemas of several features."""
import re
import zoneinfo
from functools import cache

from marshmallow import ValidationError

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in known_timezones():
        raise ValidationError("Not a known IANA timezone, e.g. Europe/Berlin.")


def validate_client_id(value: str) -> None:
    if not CLIENT_ID.match(value):
        raise ValidationError("Ids are 1-64 characters of A-Z, a-z, 0-9, _ and -.")


CONTROL_CHARACTERS_MESSAGE = "Control characters are not allowed."


def has_control_characters(value: str) -> bool:
    """What no person types and databases mishandle: NUL and the other C0 controls but tab and newlines."""
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value)


def validate_text(value: str) -> None:
    if has_control_characters(value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE)


def validate_name(value: str) -> None:
    """A name: text, and more than blanks."""
    validate_text(value)
    if not value.strip():
        raise ValidationError("Must not be blank.")
