"""The phone's columns (../shared/SYNC_SCHEMA.md): decode pushed raw values, encode pulled rows.

WatermelonDB knows only strings, numbers and booleans: instants travel as epoch milliseconds,
word lists as JSON-encoded strings, and an unset non-optional string arrives as "".
"""
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from flask_babel import gettext

from backend import i18n
from backend.children.models import CONDITIONS, SEXES
from backend.children.rules import birth_date_problem
from backend.diary import vocabulary as v
from backend.i18n import lazy_gettext
from backend.validation import CLIENT_ID, known_timezones, name_problem, text_problem


class Invalid(ValueError):
    """A raw value the column does not accept; the message says why, in the reader's language (a push is
    decoded inside its request)."""


def as_is(value):
    return value


@dataclass(frozen=True)
class Column:
    decode: Callable[[Any], Any]
    encode: Callable[[Any], Any] = as_is
    optional: bool = False


# ---- decoders -------------------------------------------------------------------------------

def _number(raw) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise Invalid(gettext("Must be a number."))
    return raw


def integer(low: int, high: int) -> Callable[[Any], int]:
    def decode(raw) -> int:
        value = _number(raw)
        if value != int(value) or not low <= value <= high:
            raise Invalid(gettext("Must be a whole number from %(low)s to %(high)s.", low=i18n.number(low),
                                  high=i18n.number(high)))
        return int(value)
    return decode


def number(low: float, high: float) -> Callable[[Any], float]:
    def decode(raw) -> float:
        value = _number(raw)
        if not low <= value <= high:
            raise Invalid(gettext("Must be a number from %(low)s to %(high)s.", low=i18n.number(low),
                                  high=i18n.number(high)))
        return float(value)
    return decode


def text(max_length: int, min_length: int = 0, problem=text_problem) -> Callable[[Any], str]:
    """Free text; `problem` (one of backend.validation's) says which characters it refuses."""
    def decode(raw) -> str:
        if not isinstance(raw, str):
            raise Invalid(gettext("Must be a string."))
        if not min_length <= len(raw) <= max_length:
            raise Invalid(gettext("Must be %(min)s to %(max)s characters.", min=i18n.number(min_length),
                                  max=i18n.number(max_length)))
        if message := problem(raw):
            raise Invalid(message)
        return raw
    return decode


def display_name(max_length: int) -> Callable[[Any], str]:
    """A name: one line (backend.validation.name_problem), 1 to max_length characters."""
    return text(max_length, min_length=1, problem=name_problem)


def one_of(allowed: tuple[str, ...]) -> Callable[[Any], str]:
    def decode(raw) -> str:
        if raw not in allowed:
            raise Invalid(gettext("Must be one of: %(choices)s.", choices=", ".join(allowed)))
        return raw
    return decode


WORD_LIST_CACHED_CHARS = 200  # longer lists are checked each time: the cache stays small


def word_list(allowed: tuple[str, ...]) -> Callable[[Any], str]:
    """A JSON-encoded list of known words, kept as canonical JSON text."""
    def problem() -> str:
        return gettext("Must be a JSON list of: %(choices)s.", choices=", ".join(allowed))

    def canonical(raw: str) -> str:
        try:
            words = json.loads(raw)
        except ValueError:
            words = None
        if not isinstance(words, list) or any(word not in allowed for word in words):
            raise Invalid(problem())
        return json.dumps(list(dict.fromkeys(words)))
    remembered = lru_cache(maxsize=1024)(canonical)  # a push repeats a handful of lists thousands of times

    def decode(raw) -> str:
        if raw in ("", None):
            return "[]"
        if not isinstance(raw, str):
            raise Invalid(problem())
        return remembered(raw) if len(raw) <= WORD_LIST_CACHED_CHARS else canonical(raw)
    return decode


def epoch_ms(raw) -> datetime:
    value = _number(raw)
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise Invalid(gettext("Must be an instant in epoch milliseconds.")) from None


def iso_date(raw) -> date:
    """A birth date: a YYYY-MM-DD date that birth_date_problem accepts."""
    value = calendar_date(raw)
    if problem := birth_date_problem(value):
        raise Invalid(problem)
    return value


def calendar_date(raw) -> date:
    """A YYYY-MM-DD date; whether it may lie where it does is the push's check against the child."""
    try:
        value = date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        value = None
    if value is None:
        raise Invalid(gettext("Must be a date as YYYY-MM-DD."))
    return value


def optional_date(raw) -> date | None:
    """A date, or "" while unset (WatermelonDB's empty string)."""
    return None if raw == "" else calendar_date(raw)


def timezone(raw) -> str:
    if raw not in known_timezones():
        raise Invalid(gettext("Must be a known IANA timezone, e.g. Europe/Berlin."))
    return raw


def client_id(raw) -> str:
    if not isinstance(raw, str) or not CLIENT_ID.fullmatch(raw):
        raise Invalid(gettext("Ids are 1-64 characters of A-Z, a-z, 0-9, _ and -."))
    return raw


def boolean(raw) -> bool:
    if not isinstance(raw, bool):
        raise Invalid(gettext("Must be true or false."))
    return raw


def ignored(raw) -> None:
    return None


# ---- encoders -------------------------------------------------------------------------------

def to_epoch_ms(value: datetime | None) -> int | None:
    return None if value is None else round(value.timestamp() * 1000)


def to_iso_date(value: date) -> str:
    return value.isoformat()


def to_optional_iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


INSTANT = Column(epoch_ms, to_epoch_ms)
SERVER_INSTANT = Column(ignored, to_epoch_ms, optional=True)  # the server keeps its own times
SERVER_VALUE = Column(ignored, optional=True)  # of a table phones only read

COLUMNS: dict[str, dict[str, Column]] = {
    "children": {
        "name": Column(display_name(80)),
        "birth_date": Column(iso_date, to_iso_date),
        "gestational_weeks": Column(number(22, 44), optional=True),
        "sex": Column(one_of(SEXES), optional=True),
        "timezone": Column(timezone),
        "condition": Column(one_of(CONDITIONS)),
        "created_at": SERVER_INSTANT,
        "updated_at": SERVER_INSTANT,
    },
    "episodes": {
        "child_id": Column(client_id),
        "started_at": INSTANT,
        "duration_seconds": Column(integer(0, v.MAX_EPISODE_SECONDS)),
        "timezone": Column(timezone),
        "sleep_state": Column(one_of(v.SLEEP_STATES)),
        "stopped_when_woken": Column(one_of(v.STOPPED_WHEN_WOKEN)),
        "side": Column(one_of(v.SIDES)),
        "body_parts": Column(word_list(v.BODY_PARTS), optional=True),
        "signs": Column(word_list(v.SIGNS), optional=True),
        "triggers": Column(word_list(v.TRIGGERS), optional=True),
        "jerk_count": Column(integer(0, v.MAX_JERK_COUNT), optional=True),
        "notes": Column(text(v.MAX_NOTES), optional=True),
        "video_ref": Column(text(v.MAX_VIDEO_REF), optional=True),
        "logged_by": Column(ignored, optional=True),  # the server sets it from the token
        "created_at": SERVER_INSTANT,
        "updated_at": SERVER_INSTANT,
    },
    "sleep_sessions": {
        "child_id": Column(client_id),
        "started_at": INSTANT,
        "ended_at": Column(epoch_ms, to_epoch_ms, optional=True),
        "kind": Column(one_of(v.SLEEP_KINDS)),
        "watched": Column(boolean),
        "notes": Column(text(v.MAX_NOTES), optional=True),
        "created_at": SERVER_INSTANT,
        "updated_at": SERVER_INSTANT,
    },
    # Schema version 2.
    "treatments": {
        "child_id": Column(client_id),
        "name": Column(display_name(v.MAX_TREATMENT_NAME)),
        "kind": Column(one_of(v.TREATMENT_KINDS)),
        "dose": Column(text(v.MAX_DOSE), optional=True),
        "started_on": Column(calendar_date, to_iso_date),
        "stopped_on": Column(optional_date, to_optional_iso_date, optional=True),
        "notes": Column(text(v.MAX_NOTES), optional=True),
        "logged_by": Column(ignored, optional=True),  # the server sets it from the token
        "created_at": SERVER_INSTANT,
        "updated_at": SERVER_INSTANT,
    },
    "development_checks": {
        "child_id": Column(client_id),
        "checked_on": Column(calendar_date, to_iso_date),
        "new_skills": Column(one_of(v.ANSWERS)),
        "lost_skills": Column(one_of(v.ANSWERS)),
        "concerns": Column(word_list(v.CONCERNS)),  # "" is the empty list
        "notes": Column(text(v.MAX_NOTES), optional=True),
        "logged_by": Column(ignored, optional=True),
        "created_at": SERVER_INSTANT,
        "updated_at": SERVER_INSTANT,
    },
    # Made by the upload (backend.videos), never by a push: a phone may only delete one.
    "episode_videos": {
        "episode_id": SERVER_VALUE,
        "child_id": SERVER_VALUE,
        "status": SERVER_VALUE,
        "rejected_reason": SERVER_VALUE,
        "content_type": SERVER_VALUE,
        "size_bytes": SERVER_VALUE,
        "duration_ms": SERVER_VALUE,
        "width": SERVER_VALUE,
        "height": SERVER_VALUE,
        "uploaded_by": SERVER_VALUE,
        "created_at": SERVER_INSTANT,
        "updated_at": SERVER_INSTANT,
    },
}
TABLES = tuple(COLUMNS)  # the tables this server keeps and syncs
READ_ONLY = {"episode_videos": lazy_gettext("Videos are added by uploading (POST /api/v1/uploads), never by a push; "
                                            "a push may only delete them.")}
CLIENT_ONLY = frozenset({"_status", "_changed"})

# The phone's schema versions (SYNC_SCHEMA.md): the tables each one added, and the columns it added to tables
# of earlier versions. A table named here but not in COLUMNS (yet) is sent empty, and records pushed to it are
# a 422 (backend.sync.push).
ADDED_TABLES: dict[int, tuple[str, ...]] = {
    1: ("children", "episodes", "sleep_sessions"),
    2: ("treatments", "development_checks", "episode_videos"),
}
ADDED_COLUMNS: dict[int, dict[str, tuple[str, ...]]] = {1: {}, 2: {}}
LATEST_SCHEMA_VERSION = max(ADDED_TABLES)
SCHEMA_TABLES = tuple(table for version in sorted(ADDED_TABLES) for table in ADDED_TABLES[version])


def tables_of(schema_version: int) -> tuple[str, ...]:
    """The tables a phone on this schema version has."""
    return tuple(table for version in sorted(ADDED_TABLES) if version <= schema_version
                 for table in ADDED_TABLES[version])


def added_since(from_version: int, to_version: int) -> tuple[set[str], set[tuple[str, str]]]:
    """(tables, (table, column) pairs) the versions after `from_version` up to `to_version` added."""
    versions = [version for version in ADDED_TABLES if from_version < version <= to_version]
    tables = {table for version in versions for table in ADDED_TABLES[version]}
    columns = {(table, column) for version in versions for table, names in ADDED_COLUMNS[version].items()
               for column in names}
    return tables, columns


def decode_record(table: str, raw: dict) -> tuple[dict, dict[str, str]]:
    """Stored values of a pushed record, and field -> message for what is wrong with it."""
    values, problems = {}, {}
    for name in raw.keys() - COLUMNS[table].keys() - CLIENT_ONLY - {"id"}:
        problems[name] = gettext("Unknown column.")
    for name, column in COLUMNS[table].items():
        raw_value = raw.get(name)
        if raw_value is None:
            if not column.optional:
                problems[name] = gettext("Missing value.") if name not in raw else gettext("May not be null.")
            elif column.decode is not ignored:
                values[name] = None
            continue
        try:
            decoded = column.decode(raw_value)
        except Invalid as error:
            problems[name] = str(error)
            continue
        if column.decode is not ignored:
            values[name] = decoded
    return values, problems


def encode_row(table: str, row) -> dict:
    """A stored row (an object with the columns as attributes) as the phone's raw record."""
    raw = {"id": row.id}
    for name, column in COLUMNS[table].items():
        raw[name] = column.encode(getattr(row, name))
    return raw


def tuple_encoder(table: str, selected: list[str]) -> Callable[[tuple], dict]:
    """encode_row for result tuples of `selected` columns: the pull's hot loop, thousands of rows."""
    id_index = selected.index("id")
    plain = [(name, selected.index(name)) for name, c in COLUMNS[table].items() if c.encode is as_is]
    encoded = [(name, selected.index(name), c.encode) for name, c in COLUMNS[table].items() if c.encode is not as_is]

    def encode(row: tuple) -> dict:
        raw = {"id": row[id_index]}
        for name, index in plain:
            raw[name] = row[index]
        for name, index, encode_value in encoded:
            raw[name] = encode_value(row[index])
        return raw
    return encode
