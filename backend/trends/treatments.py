"""Treatments on the trends: each one's period on the age axis and, for a medicine, the episodes per watched night
in the diary days before it started against the days from its start (../shared/CLINICAL.md "Video, treatments and
development"). The words report what the diary shows around a date, never whether a medicine works, never advice.
"""
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from backend.children.ages import prematurity_days
from backend.i18n import duration, lazy, lazy_gettext, lazy_ngettext
from backend.trends import formatting
from backend.trends import thresholds as t
from backend.trends.engine import compare_rates, diary_day
from backend.trends.facts import ChildFacts, SleepFact, TreatmentFact

MEDICINE_KINDS = ("antiseizure_medication", "other_medication")  # backend/diary/vocabulary.py TREATMENT_KINDS
RESULTS = ("fewer", "more", "no_clear_change", "insufficient_data")
WINDOW = duration(t.TREATMENT_WINDOW_DAYS // 7, "week")  # t.TREATMENT_WINDOW_DAYS in a parent's words


@dataclass
class WindowCount:
    nights: int  # watched nights in the window
    episodes: int  # episodes on those nights
    rate: float | None  # episodes per watched night; None: nobody watched


@dataclass
class TreatmentComparison:
    result: str  # one of RESULTS
    before: WindowCount
    after: WindowCount
    rate_ratio: float | None  # after over before; None when there was no episode before
    p_value: float | None  # two-sample Poisson score test; None when neither side had an episode or too few nights
    summary: str  # a parent's words; lazy: reads in the reader's locale (str when read back from a kept report)


@dataclass
class TreatmentPeriod:
    id: str
    name: str
    kind: str
    dose: str | None
    started_on: date
    stopped_on: date | None  # None while ongoing
    started_age_weeks: float  # on the report's age axis
    stopped_age_weeks: float | None
    comparison: TreatmentComparison | None  # medicines only


@dataclass(frozen=True)
class NightCounts:
    """Watched nights (diary days) and the episodes counted on them: the engine's watched night, noon to noon."""

    watched: frozenset[date]
    episodes: Counter

    def window(self, first: date, days: int) -> WindowCount:
        span = [first + timedelta(days=offset) for offset in range(days)]
        nights = sum(day in self.watched for day in span)
        episodes = sum(self.episodes[day] for day in span)
        return WindowCount(nights, episodes, round(episodes / nights, 3) if nights else None)


def night_counts(child: ChildFacts, episode_days: list[date], sleeps: list[SleepFact]) -> NightCounts:
    """`episode_days`: the engine's diary day of each episode (engine.episode_days), already worked out."""
    zone = ZoneInfo(child.timezone)
    watched = frozenset(diary_day(s.started_at, zone) for s in sleeps if s.watched and s.kind == "night")
    return NightCounts(watched, Counter(day for day in episode_days if day in watched))


def treatment_periods(child: ChildFacts, episode_days: list[date], sleeps: list[SleepFact], today: date,
                      axis: str) -> list[TreatmentPeriod]:
    """The child's treatments on the report's axis, earliest start first, medicines with their comparison."""
    if not child.treatments:
        return []
    counts = night_counts(child, episode_days, sleeps)
    shift = prematurity_days(child.gestational_weeks) if axis == "corrected" else 0
    on_axis = lambda day: round(((day - child.birth_date).days - shift) / 7, 2)  # noqa: E731
    return [TreatmentPeriod(
        treatment.id, treatment.name, treatment.kind, treatment.dose, treatment.started_on, treatment.stopped_on,
        on_axis(treatment.started_on), None if treatment.stopped_on is None else on_axis(treatment.stopped_on),
        compare_around_start(treatment, counts, today) if treatment.kind in MEDICINE_KINDS else None)
        for treatment in child.treatments]


def compare_around_start(treatment: TreatmentFact, counts: NightCounts, today: date) -> TreatmentComparison:
    """The window before the start against the window from it, cut at last night (tonight is not over) and at the
    stop when earlier."""
    days, last_night = t.TREATMENT_WINDOW_DAYS, today - timedelta(days=1)
    end = min(treatment.started_on + timedelta(days=days - 1), last_night, treatment.stopped_on or last_night)
    after_days = max((end - treatment.started_on).days + 1, 0)
    before = counts.window(treatment.started_on - timedelta(days=days), days)
    after = counts.window(treatment.started_on, after_days)
    if min(before.nights, after.nights) < t.MIN_TREATMENT_WATCHED_NIGHTS:
        return TreatmentComparison("insufficient_data", before, after, None, None, _too_few_words(treatment))
    change = compare_rates(after.episodes, after.nights, before.episodes, before.nights)
    result = ("fewer" if change.direction == "down" else "more") if change.clear else "no_clear_change"
    ratio = None if change.rate_ratio is None else round(change.rate_ratio, 3)
    return TreatmentComparison(result, before, after, ratio, change.p_value,
                               _comparison_words(result, treatment.name, before, after, after_days))


def _too_few_words(treatment: TreatmentFact):
    return lazy_gettext("Too few watched nights around the start of %(medicine)s to compare (at least %(nights)s are "
                        "needed before and after).", medicine=treatment.name, nights=t.MIN_TREATMENT_WATCHED_NIGHTS)


OPENINGS = {  # %(numbers)s: the rates before and after, a sentence of their own after the colon
    "fewer": lazy_gettext("Fewer episodes after %(medicine)s started: %(numbers)s"),
    "more": lazy_gettext("More episodes after %(medicine)s started: %(numbers)s"),
    "no_clear_change": lazy_gettext("No clear change after %(medicine)s started: %(numbers)s"),
}


def _comparison_words(result: str, name: str, before: WindowCount, after: WindowCount, after_days: int):
    """'No clear change after phenobarbital started: 2.1 episodes per watched night in the 2 weeks before, 2.3 in
    the 2 weeks after (12 and 13 watched nights).'"""
    rates = {"before": formatting.rate(before.rate), "after": formatting.rate(after.rate),
             "before_nights": before.nights, "after_nights": after.nights, "window": WINDOW}
    if after_days == t.TREATMENT_WINDOW_DAYS:
        numbers = lazy_gettext("%(before)s episodes per watched night in the %(window)s before, %(after)s in the "
                               "%(window)s after (%(before_nights)s and %(after_nights)s watched nights).", **rates)
    else:  # a medicine started fewer days ago than the window
        numbers = lazy_ngettext(
            "%(before)s episodes per watched night in the %(window)s before, %(after)s in the %(num)s day after "
            "(%(before_nights)s and %(after_nights)s watched nights).",
            "%(before)s episodes per watched night in the %(window)s before, %(after)s in the %(num)s days after "
            "(%(before_nights)s and %(after_nights)s watched nights).", after_days, **rates)
    return lazy(_opening, result, name, numbers)


def _opening(result: str, name: str, numbers) -> str:
    return OPENINGS[result] % {"medicine": name, "numbers": numbers}


def treatments_from_json(items: list[dict]) -> list[TreatmentPeriod]:
    """The inverse of the trends response's `treatments` (a report kept with a child's summary)."""
    return [TreatmentPeriod(**{
        **item, "started_on": date.fromisoformat(item["started_on"]),
        "stopped_on": None if item["stopped_on"] is None else date.fromisoformat(item["stopped_on"]),
        "comparison": None if item["comparison"] is None else _comparison_from_json(item["comparison"])})
        for item in items]


def _comparison_from_json(data: dict) -> TreatmentComparison:
    return TreatmentComparison(**{**data, "before": WindowCount(**data["before"]),
                                  "after": WindowCount(**data["after"])})
