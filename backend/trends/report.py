"""One child's trend report: the weekly series, the model, the verdict, red flags, treatments, summaries.

Its words are lazy (backend.i18n): a report built once reads in the locale it is dumped or rendered in.
"""
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from backend.children.ages import PRETERM_BEFORE_WEEKS, prematurity_days
from backend.i18n import duration, lazy
from backend.trends import thresholds as t
from backend.trends.engine import (
    ModelFit,
    Verdict,
    WeekStats,
    episode_days,
    fit_model,
    quiet_streak,
    verdict,
    weekly_series,
)
from backend.trends.facts import ChildFacts, EpisodeFact, SleepFact
from backend.trends.red_flags import RedFlag, red_flags
from backend.trends.summaries import caregiver_summary, clinician_summary
from backend.trends.treatments import TreatmentPeriod, treatment_periods

AXES = ("chronological", "corrected")


@dataclass
class ReferencePoint:
    label: str  # "3 months", lazy: in the reader's words (str when read back from a kept report)
    corrected_age_weeks: float
    age_weeks_on_axis: float  # where the mark stands on the report's age axis
    share_resolved: float  # of BNSM resolved by then (Maurer 2010)
    applies: bool  # the figures are for BNSM
    passed: bool  # the child's corrected age is past it


@dataclass
class TrendReport:
    child: ChildFacts
    axis: str
    generated_at: datetime
    age_weeks_now: float
    corrected_age_weeks_now: float | None
    weekly: list[WeekStats]
    model: ModelFit | None
    verdict: Verdict
    red_flags: list[RedFlag]
    reference_points: list[ReferencePoint]
    summary: dict[str, str]  # "caregiver", "clinician"; lazy: written in the locale they are read in
    totals: dict[str, int]  # "episodes", "watched_nights", "observed_weeks"
    treatments: list[TreatmentPeriod] = field(default_factory=list)  # earliest start first


def default_axis(child: ChildFacts) -> str:
    preterm = child.gestational_weeks is not None and child.gestational_weeks < PRETERM_BEFORE_WEEKS
    return "corrected" if preterm else "chronological"


def build_report(child: ChildFacts, episodes: list[EpisodeFact], sleeps: list[SleepFact], now: datetime,
                 weeks: int = t.DEFAULT_WEEKS, axis: str | None = None) -> TrendReport:
    axis = axis or default_axis(child)
    if axis == "corrected" and child.gestational_weeks is None:
        axis = "chronological"
    today = now.astimezone(ZoneInfo(child.timezone)).date()
    days = episode_days(child, episodes)
    weekly = weekly_series(child, episodes, sleeps, today, weeks, days)
    model = fit_model(weekly, axis)
    decided = verdict(weekly, model, quiet_streak(child, episodes, sleeps, days))
    flags = red_flags(child, episodes, decided, now)
    age_now = (today - child.birth_date).days / 7
    shift = prematurity_days(child.gestational_weeks) / 7
    corrected_now = None if child.gestational_weeks is None else age_now - shift
    references = _reference_points(child, axis, shift, corrected_now if corrected_now is not None else age_now)
    totals = {"episodes": sum(w.episodes for w in weekly), "watched_nights": sum(w.watched_nights for w in weekly),
              "observed_weeks": sum(w.watched_nights >= t.MIN_WATCHED_NIGHTS_PER_WEEK for w in weekly)}
    corrected = None if corrected_now is None else round(corrected_now, 2)
    report = TrendReport(child, axis, now, round(age_now, 2), corrected, weekly, model, decided, flags, references, {},
                         totals, treatment_periods(child, days, sleeps, today, axis))
    report.summary = {"caregiver": lazy(caregiver_summary, report), "clinician": lazy(clinician_summary, report)}
    return report


def _reference_points(child: ChildFacts, axis: str, shift: float, corrected_now: float) -> list[ReferencePoint]:
    on_axis = 0.0 if axis == "corrected" else shift
    return [ReferencePoint(duration(months, "month"), weeks, round(weeks + on_axis, 2), share,
                           child.condition == "bnsm", corrected_now >= weeks)
            for months, weeks, share in t.REFERENCE_POINTS]
