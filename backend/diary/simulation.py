"""Simulated diaries: a child's nights and episodes drawn from a known course.

The demo data, the benchmarks and the statistics tests use it, so that what the trend engine
finds can be checked against the rate the diary was drawn from.
"""
import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NIGHT_START, NIGHT_HOURS = time(19, 30), 11


@dataclass(frozen=True)
class Course:
    """Episodes per watched night as a function of the week of the diary (0 = first week)."""

    rate: Callable[[int], float]
    watched_share: float | Callable[[int], float] = 0.85  # nights watched; the others are missing, not zero
    sleep_state: str = "asleep"
    stopped_when_woken: str = "yes"
    night_to_night_shape: float | None = None  # gamma shape: nights vary more than Poisson (overdispersion)

    def watched_on(self, week: int) -> float:
        return self.watched_share(week) if callable(self.watched_share) else self.watched_share

    def mean_on(self, rng: random.Random, week: int) -> float:
        mean = self.rate(week)
        if self.night_to_night_shape:
            mean *= rng.gammavariate(self.night_to_night_shape, 1 / self.night_to_night_shape)
        return mean


def resolving(start: float, halving_weeks: float) -> Course:
    return Course(lambda week: start * 0.5 ** (week / halving_weeks))


def stable(rate: float) -> Course:
    return Course(lambda week: rate)


def rising(start: float, doubling_weeks: float) -> Course:
    return Course(lambda week: start * 2 ** (week / doubling_weeks))


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; means here are small."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def simulate(rng: random.Random, child_id: str, timezone: str, first_night: date, nights: int,
             course: Course) -> Iterator[tuple[str, dict]]:
    """Yield ("sleep_sessions" | "episodes", column values) night by night."""
    zone = ZoneInfo(timezone)
    for night in range(nights):
        day = first_night + timedelta(days=night)
        start = datetime.combine(day, NIGHT_START, tzinfo=zone).astimezone(UTC)
        end = start + timedelta(hours=NIGHT_HOURS)
        watched = rng.random() < course.watched_on(night // 7)
        yield "sleep_sessions", {"id": f"{child_id}-n{night}", "child_id": child_id, "started_at": start,
                                 "ended_at": end, "kind": "night", "watched": watched, "notes": None}
        if not watched:
            continue
        for number in range(_poisson(rng, course.mean_on(rng, night // 7))):
            yield "episodes", _episode(rng, f"{child_id}-n{night}-e{number}", child_id, timezone, start, course)


def _episode(rng: random.Random, episode_id: str, child_id: str, timezone: str, night_start: datetime,
             course: Course) -> dict:
    return {
        "id": episode_id, "child_id": child_id, "timezone": timezone,
        "started_at": night_start + timedelta(seconds=rng.randrange(NIGHT_HOURS * 3600)),
        "duration_seconds": rng.randrange(5, 180), "sleep_state": course.sleep_state,
        "stopped_when_woken": course.stopped_when_woken, "side": rng.choice(["both", "both", "left", "right"]),
        "body_parts": json.dumps(rng.sample(["arms", "legs", "trunk"], rng.randrange(1, 3))),
        "signs": "[]", "triggers": json.dumps(rng.sample(["fatigue", "rocking", "feeding"], rng.randrange(0, 2))),
        "jerk_count": rng.randrange(3, 40), "notes": None, "video_ref": None,
    }
