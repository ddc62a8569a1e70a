"""Validators shared by schemas of several features."""
import re
import zoneinfo
from functools import cache

from marshmallow import ValidationError, validate

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
