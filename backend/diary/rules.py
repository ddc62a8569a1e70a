"""Rules about when diary entries may lie, shared by REST and sync. Pure functions."""
from datetime import UTC, datetime

from backend.children.rules import start_of_birth_day
from backend.diary.vocabulary import CLOCK_SKEW, MAX_SLEEP_SESSION


def instant_problems(started_at: datetime, ended_at: datetime | None, birth_date, timezone: str,
                     now: datetime | None = None) -> dict[str, str]:
    """Field -> message for instants in the future, before the birth, or out of order."""
    now = now or datetime.now(UTC)
    problems = {}
    if started_at > now + CLOCK_SKEW:
        problems["started_at"] = "Lies in the future."
    elif started_at < start_of_birth_day(birth_date, timezone):
        problems["started_at"] = "Lies before the child's birth date."
    if ended_at is not None:
        if ended_at < started_at:
            problems["ended_at"] = "Lies before started_at."
        elif ended_at - started_at > MAX_SLEEP_SESSION:
            problems["ended_at"] = "A sleep session lasts at most 24 hours."
        elif ended_at > now + CLOCK_SKEW:
            problems["ended_at"] = "Lies in the future."
    return problems
