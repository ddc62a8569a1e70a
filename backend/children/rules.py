"""Rules about a child's data that REST and sync both enforce."""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext

from backend.i18n import number

OLDEST_BIRTH_YEARS = 120
# Anywhere on Earth it is at most UTC+14: a birth date after that day is in the future.
LATEST_OFFSET = timedelta(hours=14)


def birth_date_problem(value: date) -> str | None:
    """What is wrong with a birth date, in the reader's words, or None."""
    latest = (datetime.now(UTC) + LATEST_OFFSET).date()
    if value > latest:
        return gettext("The birth date is in the future.")
    if value.year < latest.year - OLDEST_BIRTH_YEARS:
        return gettext("The birth date is more than %(years)s years ago.", years=number(OLDEST_BIRTH_YEARS))
    return None


def start_of_birth_day(birth_date: date, timezone: str) -> datetime:
    """The first instant of the birth date where the child lives."""
    return datetime.combine(birth_date, time.min, tzinfo=ZoneInfo(timezone))
