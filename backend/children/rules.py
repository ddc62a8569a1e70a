"""Rules about a child's data that REST and sync both enforce."""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OLDEST_BIRTH_YEARS = 120
# Anywhere on Earth it is at most UTC+14: a birth date after that day is in the future.
LATEST_OFFSET = timedelta(hours=14)


def birth_date_problem(value: date) -> str | None:
    latest = (datetime.now(UTC) + LATEST_OFFSET).date()
    if value > latest:
        return "The birth date is in the future."
    if value.year < latest.year - OLDEST_BIRTH_YEARS:
        return f"The birth date is more than {OLDEST_BIRTH_YEARS} years ago."
    return None


def start_of_birth_day(birth_date: date, timezone: str) -> datetime:
    """The first instant of the birth date where the child lives."""
    return datetime.combine(birth_date, time.min, tzinfo=ZoneInfo(timezone))
