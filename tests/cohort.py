"""An independent simulated cohort for the trend verdict (not built on backend/diary/simulation.py).

Each child: a baseline rate with a per-child random effect (log-normal), a course over age (resolving,
stable, worsening, or a corner case), week-to-week wobble (log-normal), nightly counts that are negative
binomial (a gamma-mixed Poisson with a per-child shape), nights nobody watched (per-child watched share,
missing, never zero), ages 2-30 weeks and diaries of 3-16 weeks. The parameters and what counts as a clear
course are argued in docs/verdicts.md ("The cohort"), fixed before any rule was compared on it. Every child
comes from its own seed (the cohort's seed, the course, the child's index), so a cohort is the same on every run
and a fresh seed draws fresh nights as well as fresh children. The verdict is the engine's own pipeline, with
no database.
"""
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from backend.trends.engine import episode_days, fit_model, quiet_streak, verdict, weekly_series
from backend.trends.facts import ChildFacts, EpisodeFact, SleepFact

VERDICTS = ("resolving", "resolved", "stable", "worsening", "insufficient_data")
NIGHT_HOURS = 11


@dataclass(frozen=True)
class Child:
    course: str
    index: int
    cohort_seed: int  # the nights are drawn from (cohort_seed, course, index): a fresh seed is a fresh cohort
    start_age_weeks: int  # age at the first night of the diary
    diary_weeks: int
    base_rate: float  # episodes per night at the diary's start
    log_rr_per_week: float  # the course's log rate ratio per week (before any turn)
    turn_after_weeks: int | None  # the course turns at this week of the diary
    log_rr_after_turn: float
    nb_shape: float  # gamma shape of night-to-night variation (smaller: more overdispersed)
    week_sd: float  # week-to-week wobble on the log scale
    watched_share: float
    sparse_from: int | None  # weeks sparse_from .. sparse_from + 3 are barely watched
    sparse_share: float

    def true_rate(self, week: float) -> float:
        if self.turn_after_weeks is None or week <= self.turn_after_weeks:
            return self.base_rate * math.exp(self.log_rr_per_week * week)
        turned = self.base_rate * math.exp(self.log_rr_per_week * self.turn_after_weeks)
        return turned * math.exp(self.log_rr_after_turn * (week - self.turn_after_weeks))


# Per 4 weeks of age: a clear fall is to 0.25-0.70 of the rate, a clear rise to 1.5-3 times it.
RESOLVING_RR4 = (0.25, 0.70)
WORSENING_RR4 = (1.5, 3.0)
MEDIAN_RATE = 3.0  # episodes a night: BNSM jerks come in clusters, several a night
WATCHED_SHARE = (0.6, 0.95)  # diaries are kept on most nights while parents are worried
CLEAR_WEEKS = (8, 16)  # a clear course: at least 8 weeks (two rate-ratio periods), a 2-fold change or more
DIARY_WEEKS = {"short_": (3, 5), "medium_": (6, 7), "sparse_month_": (10, 16), "turns_": (10, 16)}
# How noisy a child's diary is: the range of its nights' gamma shape (night-to-night variance = mean + mean^2 /
# shape) and the highest sd of its week-to-week wobble. "harsh" is the cohort of docs/verdicts.md; the milder
# ones only show how the verdict's result depends on this noise, which no source pins down (docs/verdicts.md,
# "How the result depends on the noise").
NOISE = {"harsh": ((0.8, 5.0), 0.25), "moderate": ((2.0, 10.0), 0.15), "mild": ((5.0, 30.0), 0.10)}


def _log_rr_week(rng: np.random.Generator, low: float, high: float) -> float:
    return math.log(rng.uniform(low, high)) / 4


def draw_child(course: str, index: int, seed: int = 2026, noise: str = "harsh") -> Child:
    """One child of a course: resolving | stable | worsening (the clear courses, 8-16 weeks of diary) or
    short_* (3-5 weeks), medium_* (6-7 weeks), turns_worse | turns_better, sparse_month_* (10-16 weeks)."""
    rng = np.random.default_rng([seed, sum(map(ord, course)), index])
    prefix = next((p for p in DIARY_WEEKS if course.startswith(p)), "")
    kind = course if prefix == "turns_" else course.removeprefix(prefix)
    low, high = DIARY_WEEKS.get(prefix, CLEAR_WEEKS)
    weeks = int(rng.integers(low, high + 1))
    start_age = int(rng.integers(2, 30 - weeks + 1))
    base = float(np.exp(rng.normal(math.log(MEDIAN_RATE), 0.6)))  # per-child random effect
    turn, after = None, 0.0
    if kind == "resolving":
        slope = _log_rr_week(rng, *RESOLVING_RR4)
    elif kind == "worsening":
        slope = _log_rr_week(rng, *WORSENING_RR4)
        base /= 2  # rising courses start lower
    elif kind == "stable":
        slope = 0.0
    elif kind == "turns_worse":  # falling, then rising again for the last 4-6 weeks
        slope, after = _log_rr_week(rng, *RESOLVING_RR4), _log_rr_week(rng, *WORSENING_RR4)
        turn = weeks - int(rng.integers(4, 7))
    elif kind == "turns_better":  # rising, then falling for the last 4-6 weeks
        slope, after = _log_rr_week(rng, *WORSENING_RR4), _log_rr_week(rng, *RESOLVING_RR4)
        base /= 2
        turn = weeks - int(rng.integers(4, 7))
    else:
        raise ValueError(course)
    sparse = int(rng.integers(1, weeks - 4)) if course.startswith("sparse_month_") else None
    shapes, most_week_sd = NOISE[noise]
    return Child(course, index, seed, start_age, weeks, base, slope, turn, after,
                 nb_shape=float(rng.uniform(*shapes)), week_sd=float(rng.uniform(0.0, most_week_sd)),
                 watched_share=float(rng.uniform(*WATCHED_SHARE)), sparse_from=sparse,
                 sparse_share=float(rng.uniform(0.05, 0.25)))


def diary(child: Child) -> tuple[ChildFacts, list[EpisodeFact], list[SleepFact], datetime]:
    rng = np.random.default_rng([child.cohort_seed, sum(map(ord, child.course)), child.index, 7])
    birth = date(2026, 1, 5)
    facts = ChildFacts(f"{child.course}-{child.index}", "Sim", birth, 40.0, "UTC", "bnsm")
    first = birth + timedelta(weeks=child.start_age_weeks)
    episodes, sleeps = [], []
    for week in range(child.diary_weeks):
        wobble = math.exp(rng.normal(0.0, child.week_sd)) if child.week_sd else 1.0
        share = child.watched_share
        if child.sparse_from is not None and child.sparse_from <= week < child.sparse_from + 4:
            share = child.sparse_share
        for day in range(7):
            night = week * 7 + day
            start = datetime.combine(first + timedelta(days=night), datetime.min.time(), UTC) + timedelta(hours=19)
            watched = rng.random() < share
            sleeps.append(SleepFact(f"n{night}", start, start + timedelta(hours=NIGHT_HOURS), "night", watched))
            mean = child.true_rate(week + day / 7) * wobble * rng.gamma(child.nb_shape, 1 / child.nb_shape)
            for number in range(int(rng.poisson(mean))):
                at = start + timedelta(seconds=int(rng.integers(0, NIGHT_HOURS * 3600)))
                # episodes on unwatched nights are not seen at all: nobody was there
                if watched:
                    episodes.append(EpisodeFact(f"n{night}e{number}", at, 30, "asleep", "yes", ()))
    now = datetime.combine(first + timedelta(weeks=child.diary_weeks), datetime.min.time(), UTC) + timedelta(hours=11)
    return facts, episodes, sleeps, now


def verdict_for(child: Child) -> str:
    facts, episodes, sleeps, now = diary(child)
    days = episode_days(facts, episodes)
    weekly = weekly_series(facts, episodes, sleeps, now.date(), days=days)
    return verdict(weekly, fit_model(weekly), quiet_streak(facts, episodes, sleeps, days)).code


def run(course: str, n: int, seed: int = 2026, progress=None, noise: str = "harsh") -> Counter:
    found = Counter()
    for index in range(n):
        found[verdict_for(draw_child(course, index, seed, noise))] += 1
        if progress and (index + 1) % 100 == 0:
            progress(course, index + 1, n)
    return found


# What counts as right. A resolving course may also end "resolved" (two quiet weeks).
RIGHT = {"resolving": {"resolving", "resolved"}, "stable": {"stable"}, "worsening": {"worsening"}}
FALSE_RESOLVING = ("resolving", "resolved")  # on a course that is not falling, either is a false promise
