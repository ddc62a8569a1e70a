"""Rules about when diary entries may lie, shared by REST and sync. Pure functions; the messages in the reader's
language (field names never change)."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext

from backend.children.rules import start_of_birth_day
from backend.diary.vocabulary import CLOCK_SKEW, MAX_SLEEP_SESSION
from backend.i18n import duration


def instant_problems(started_at: datetime, ended_at: datetime | None, birth_date, timezone: str,
                     now: datetime | None = None) -> dict[str, str]:
    """Field -> message for instants in the future, before the birth, or out of order."""
    now = now or datetime.now(UTC)
    problems = {}
    if started_at > now + CLOCK_SKEW:
        problems["started_at"] = gettext("Lies in the future.")
    elif started_at < start_of_birth_day(birth_date, timezone):
        problems["started_at"] = gettext("Lies before the child's birth date.")
    if ended_at is not None:
        if ended_at < started_at:
            problems["ended_at"] = gettext("Lies before %(field)s.", field="started_at")
        elif ended_at - started_at > MAX_SLEEP_SESSION:
            problems["ended_at"] = gettext("A sleep session lasts at most %(duration)s.",
                                           duration=duration(MAX_SLEEP_SESSION // timedelta(hours=1), "hour"))
        elif ended_at > now + CLOCK_SKEW:
            problems["ended_at"] = gettext("Lies in the future.")
    return problems


def date_problems(dates: dict[str, date | None], birth_date: date, timezone: str,
                  now: datetime | None = None) -> dict[str, str]:
    """Field -> message for calendar dates after the child's local today, before the birth date, or a
    `stopped_on` before `started_on`."""
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()
    problems = {}
    for name, value in dates.items():
        if value is None:
            continue
        if value > today:
            problems[name] = gettext("Lies in the future.")
        elif value < birth_date:
            problems[name] = gettext("Lies before the child's birth date.")
    started, stopped = dates.get("started_on"), dates.get("stopped_on")
    if started is not None and stopped is not None and stopped < started and "stopped_on" not in problems:
        problems["stopped_on"] = gettext("Lies before %(field)s.", field="started_on")
    return problems


def record_problems(model, values, birth_date: date, timezone: str) -> dict[str, str]:
    """Field -> message for a record's instants or dates; `values` a dict or a row."""
    get = values.get if isinstance(values, dict) else lambda name, default=None: getattr(values, name, default)
    if model.DATES:
        return date_problems({name: get(name) for name in model.DATES}, birth_date, timezone)
    return instant_problems(get("started_at"), get("ended_at"), birth_date, timezone)
