"""When reminders are due: pure, DST-correct arithmetic on local wall-clock times."""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.reminders.models import WEEKDAYS


def slot_at(day: date, local_time: str, zone: ZoneInfo) -> datetime:
    """The UTC instant of HH:MM on a local day (a time skipped by a DST jump lands an hour later)."""
    hours, minutes = map(int, local_time.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=zone).astimezone(UTC)


def slot_days(cadence: str, weekday: str, anchor: date, start: date):
    """Local days of the slots from `start` on, in order."""
    target = WEEKDAYS.index(weekday)
    day = start + timedelta(days=(target - start.weekday()) % 7)
    while True:
        if _is_slot(cadence, day, anchor):
            yield day
        day += timedelta(days=7)


def _is_slot(cadence: str, day: date, anchor: date) -> bool:
    if cadence == "weekly":
        return True
    if cadence == "biweekly":
        return ((day - anchor).days // 7) % 2 == 0
    return day.day <= 7  # monthly: the first such weekday of the month


def next_slot(cadence: str, weekday: str, local_time: str, timezone: str, anchor: date,
              after: datetime) -> datetime:
    """The first slot strictly after `after`."""
    zone = ZoneInfo(timezone)
    start = after.astimezone(zone).date() - timedelta(days=1)
    for day in slot_days(cadence, weekday, anchor, start):
        instant = slot_at(day, local_time, zone)
        if instant > after:
            return instant
    raise AssertionError("unreachable: slot_days never ends")


def period_key(instant: datetime, timezone: str) -> str:
    """A slot's key: its local date, the same for every dispatcher that finds it due."""
    return instant.astimezone(ZoneInfo(timezone)).date().isoformat()
