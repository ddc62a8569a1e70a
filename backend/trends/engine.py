"""The trend engine: weekly frequency against age, a Poisson model, an honest verdict.

Pure functions from facts (facts.py) to plain results; ../shared/CLINICAL.md "Is it resolving?"
describes the method and thresholds.py holds every threshold. numpy, scipy and statsmodels are imported by the
functions that fit: a web worker that never fits a model never loads them (issue 23).
"""
import bisect
import math
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.children.ages import prematurity_days
from backend.i18n import lazy_gettext, lazy_ngettext
from backend.trends import formatting
from backend.trends import thresholds as t
from backend.trends.facts import ChildFacts, EpisodeFact, SleepFact


@dataclass
class WeekStats:
    week: int  # completed weeks of chronological age at the week's start (0 = first week of life)
    start: date  # the week's first day, local to the child
    age_weeks: float  # chronological age in weeks at the week's start
    corrected_age_weeks: float | None
    episodes: int  # episodes on watched nights: the count the rate divides
    unwatched_episodes: int  # seen on nights nobody watched: shown, not counted in rates
    watched_nights: int
    watched_hours: float
    episodes_per_night: float | None  # None: nobody watched, the week is missing, not zero
    episodes_per_hour: float | None
    mean_duration_seconds: float | None
    share_awake: float | None
    share_not_stopped_on_waking: float | None  # of the episodes where waking was tried


@dataclass(frozen=True)
class RateChange:
    direction: str  # "down", "up" or "same" (about the same)
    rate_ratio: float | None  # the recent rate over the previous one; None when the previous had no episode
    p_value: float | None  # two-sample Poisson score test; None when neither period had an episode

    @property
    def clear(self) -> bool:
        """A rise or fall beyond night-to-night chance: only then "fewer" or "more"."""
        return self.direction != "same" and self.p_value is not None and self.p_value < t.CLEAR_CHANGE_P


@dataclass
class RecentChange:
    weeks: int
    recent_rate: float
    previous_rate: float
    recent_nights: int
    previous_nights: int
    rate_ratio: float | None
    p_value: float | None


@dataclass
class CurvePoint:
    age_weeks: float
    rate: float
    low: float
    high: float


@dataclass
class ModelFit:
    family: str  # "poisson" or "quasi_poisson"
    dispersion: float
    rate_ratio_per_4_weeks: float
    ci_low: float
    ci_high: float
    p_value: float
    weeks_used: int
    kendall_tau: float | None
    kendall_p_value: float | None  # one-sided, falling (alternative="less", as CLINICAL.md)
    kendall_p_value_rising: float | None  # one-sided, rising
    theil_slope_per_week: float | None
    recent: RecentChange | None
    curve: list[CurvePoint] = field(default_factory=list)
    # the verdict's one-sided bounds of the rate ratio (thresholds.py); not kept with a stored report
    resolving_bound: float | None = None  # upper, at RESOLVING_CONFIDENCE
    worsening_bound: float | None = None  # lower, at WORSENING_CONFIDENCE


@dataclass
class Verdict:
    code: str  # resolved | resolving | stable | worsening | insufficient_data
    reasons: list[str]  # lazy: each reads in the reader's locale (str when read back from a kept report)


# ---- weekly series ------------------------------------------------------------------------------

DIARY_DAY_SHIFT = timedelta(hours=t.DIARY_DAY_STARTS_AT_HOUR)


def diary_day(instant: datetime, zone: ZoneInfo) -> date:
    """The local day a night began on: noon to noon in the child's zone (DST-safe wall time)."""
    return (instant.astimezone(zone) - DIARY_DAY_SHIFT).date()  # aware arithmetic is wall-clock arithmetic


def episode_days(child: ChildFacts, episodes: list[EpisodeFact]) -> list[date]:
    """Each episode's diary day, computed once for the series and the quiet-night streak."""
    zone = ZoneInfo(child.timezone)
    return [diary_day(episode.started_at, zone) for episode in episodes]


def weekly_series(child: ChildFacts, episodes: list[EpisodeFact], sleeps: list[SleepFact], today: date,
                  weeks: int = t.DEFAULT_WEEKS, days: list[date] | None = None) -> list[WeekStats]:
    zone = ZoneInfo(child.timezone)
    week_of = lambda day: (day - child.birth_date).days // 7  # noqa: E731
    nights, hours, watched_days, watched_spans = _exposure(sleeps, zone, week_of)
    counted, unwatched, described = defaultdict(int), defaultdict(int), defaultdict(list)
    for episode, day in zip(episodes, days or episode_days(child, episodes), strict=True):
        week = week_of(day)
        described[week].append(episode)
        if day in watched_days or _within(episode.started_at, watched_spans):
            counted[week] += 1
        else:
            unwatched[week] += 1
    entry_weeks = [*nights, *described]
    if not entry_weeks:
        return []
    last = week_of(today)
    first = max(min(entry_weeks), last - weeks + 1, 0)
    shift = prematurity_days(child.gestational_weeks) / 7
    return [_week_stats(child, week, shift, counted[week], unwatched[week], nights.get(week, 0),
                        hours.get(week, 0.0), described[week]) for week in range(first, last + 1)]


def _exposure(sleeps: list[SleepFact], zone: ZoneInfo, week_of):
    nights, hours = defaultdict(int), defaultdict(float)
    watched_days, watched_spans = set(), []
    for sleep in sleeps:
        if not sleep.watched:
            continue
        day = diary_day(sleep.started_at, zone)
        if sleep.kind == "night":
            nights[week_of(day)] += 1
            watched_days.add(day)
        if sleep.ended_at is not None:
            hours[week_of(day)] += (sleep.ended_at - sleep.started_at).total_seconds() / 3600
            watched_spans.append((sleep.started_at, sleep.ended_at))
    return nights, hours, watched_days, sorted(watched_spans)


def _within(instant: datetime, spans: list[tuple[datetime, datetime]]) -> bool:
    """Inside a watched sleep session (a nap, say, on a day without a watched night)."""
    index = bisect.bisect_right(spans, (instant, instant)) - 1
    return any(start <= instant <= end for start, end in spans[max(index - 1, 0):index + 1])


def _week_stats(child: ChildFacts, week: int, shift: float, counted: int, unwatched: int, nights: int,
                hours: float, episodes: list[EpisodeFact]) -> WeekStats:
    tried = [e for e in episodes if e.stopped_when_woken in ("yes", "no")]
    return WeekStats(
        week=week, start=child.birth_date + timedelta(days=7 * week), age_weeks=float(week),
        corrected_age_weeks=None if child.gestational_weeks is None else round(week - shift, 2),
        episodes=counted, unwatched_episodes=unwatched, watched_nights=nights, watched_hours=round(hours, 2),
        episodes_per_night=_ratio(counted, nights), episodes_per_hour=_ratio(counted, hours),
        mean_duration_seconds=_ratio(sum(e.duration_seconds for e in episodes), len(episodes)),
        share_awake=_ratio(sum(e.sleep_state == "awake" for e in episodes), len(episodes)),
        share_not_stopped_on_waking=_ratio(sum(e.stopped_when_woken == "no" for e in tried), len(tried)))


def pooled_rate(weeks: list[WeekStats]) -> tuple[float | None, int]:
    """Episodes per watched night over several weeks together (None: nobody watched), and the nights."""
    nights = sum(week.watched_nights for week in weeks)
    return (sum(week.episodes for week in weeks) / nights if nights else None), nights


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


# ---- the model -----------------------------------------------------------------------------------

def axis_age(week: WeekStats, axis: str) -> float:
    """Age at the week's middle on the chosen axis; the slope is the same on either."""
    age = week.corrected_age_weeks if axis == "corrected" and week.corrected_age_weeks is not None \
        else week.age_weeks
    return age + 0.5


def fit_model(weeks: list[WeekStats], axis: str = "chronological") -> ModelFit | None:
    """Poisson regression of weekly counts on age, watched nights as exposure (CLINICAL.md)."""
    used = [w for w in weeks if w.watched_nights > 0]
    if len(used) < 2 or sum(w.episodes for w in used) == 0:
        return None
    import numpy as np
    from statsmodels.genmod.families import Poisson
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.tools import add_constant  # not statsmodels.api: 25 MB and 0.2 s less to import

    ages = np.array([axis_age(w, axis) for w in used])
    counts = np.array([w.episodes for w in used], dtype=float)
    exposure = np.array([w.watched_nights for w in used], dtype=float)
    design = add_constant(ages, has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation when late weeks are all zero is expected
        try:
            return _fit(lambda: GLM(counts, design, family=Poisson(), exposure=exposure.copy()),
                        used, ages, axis)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            return None  # degenerate weeks: no model, and the verdict says so


def _fit(make_model, used: list[WeekStats], ages, axis: str) -> ModelFit:
    fit = make_model().fit()
    dispersion = float(fit.pearson_chi2 / fit.df_resid) if fit.df_resid > 0 else 1.0
    family = "poisson"
    if dispersion > t.OVERDISPERSION_ABOVE:  # a fresh model and exposure: statsmodels takes its log in place
        fit, family = make_model().fit(scale=dispersion), "quasi_poisson"  # = scale="X2", without its IRLS quirks
    return _model_fit(fit, family, dispersion, used, ages, axis)


def _model_fit(fit, family: str, dispersion: float, used: list[WeekStats], ages, axis: str) -> ModelFit:
    slope, se = float(fit.params[1]), float(fit.bse[1])
    bound = _rate_ratio_bound(slope, se, degrees_of_freedom=max(int(fit.df_resid), 1))
    two_sided = 0.5 + t.CONFIDENCE / 2
    tau, tau_p, tau_p_rising, theil = _model_free(used, axis)
    return ModelFit(
        family=family, dispersion=round(dispersion, 3),
        rate_ratio_per_4_weeks=_safe_exp(t.RATE_RATIO_WEEKS * slope), ci_low=bound(two_sided, -1),
        ci_high=bound(two_sided, 1), p_value=float(fit.pvalues[1]), weeks_used=len(used),
        kendall_tau=tau, kendall_p_value=tau_p, kendall_p_value_rising=tau_p_rising, theil_slope_per_week=theil,
        recent=recent_change(used), curve=_curve(fit, ages),
        resolving_bound=bound(t.RESOLVING_CONFIDENCE, 1), worsening_bound=bound(t.WORSENING_CONFIDENCE, -1))


def _rate_ratio_bound(slope: float, se: float, degrees_of_freedom: int):
    """A one-sided bound of the rate ratio per 4 weeks: Student t on the residual df, since the scale is estimated
    from a handful of weeks (normal quantiles made the interval too narrow)."""
    from scipy import stats

    def bound(confidence: float, side: int) -> float:
        quantile = stats.t.ppf(confidence, degrees_of_freedom)
        return _safe_exp(t.RATE_RATIO_WEEKS * (slope + side * quantile * se))
    return bound


def _safe_exp(value: float) -> float:
    return math.exp(min(value, 700.0))


def _curve(fit, ages) -> list[CurvePoint]:
    import numpy as np
    from statsmodels.tools.tools import add_constant

    grid = np.linspace(ages.min(), ages.max(), 25)
    frame = fit.get_prediction(add_constant(grid, has_constant="add")).summary_frame(alpha=1 - t.CONFIDENCE)
    return [CurvePoint(round(float(a), 3), float(m), float(lo), float(hi)) for a, m, lo, hi in
            zip(grid, frame["mean"], frame["mean_ci_lower"], frame["mean_ci_upper"], strict=True)]


def _model_free(used: list[WeekStats], axis: str) -> tuple:
    """Kendall's tau (one-sided p both ways) and Theil-Sen on weeks with enough watched nights."""
    solid = [w for w in used if w.watched_nights >= t.MIN_WATCHED_NIGHTS_PER_WEEK]
    rates = [w.episodes_per_night for w in solid]
    if len(solid) < t.MIN_KENDALL_WEEKS or len(set(rates)) < 2:
        return None, None, None, None
    ages = [axis_age(w, axis) for w in solid]
    from scipy import stats

    falling = stats.kendalltau(ages, rates, alternative="less")
    rising = stats.kendalltau(ages, rates, alternative="greater")
    theil = stats.theilslopes(rates, ages)
    return float(falling.statistic), float(falling.pvalue), float(rising.pvalue), float(theil.slope)


def recent_change(used: list[WeekStats], k: int = t.RECENT_WEEKS) -> RecentChange | None:
    """The last k watched weeks against the k before; the p-value is the rate ratio's, so none without one."""
    if len(used) < 2 * k:
        return None
    recent, previous = used[-k:], used[-2 * k:-k]
    c1, n1 = sum(w.episodes for w in recent), sum(w.watched_nights for w in recent)
    c2, n2 = sum(w.episodes for w in previous), sum(w.watched_nights for w in previous)
    change = compare_rates(c1, n1, c2, n2)
    p_value = None if change.rate_ratio is None else change.p_value
    return RecentChange(k, round(c1 / n1, 3), round(c2 / n2, 3), n1, n2, change.rate_ratio, p_value)


# ---- has it changed? -----------------------------------------------------------------------------

def compare_rates(recent_episodes: int, recent_nights: int, previous_episodes: int,
                  previous_nights: int) -> RateChange:
    """Has it changed? Episodes per watched night in two periods (both watched): about the same when less than
    SAME_WITHIN apart or when they read the same, else down or up, and clear only beyond chance (CLEAR_CHANGE_P)."""
    recent, previous = recent_episodes / recent_nights, previous_episodes / previous_nights
    return RateChange(_direction(recent, previous), recent / previous if previous else None,
                      _rates_test(recent_episodes, recent_nights, previous_episodes, previous_nights))


def _direction(recent: float, previous: float) -> str:
    if previous == 0:
        return "same" if recent == 0 else "up"
    change = (recent - previous) / previous
    if abs(change) < t.SAME_WITHIN or formatting.read_alike(recent, previous):
        return "same"
    return "down" if change < 0 else "up"


def _rates_test(c1: int, n1: int, c2: int, n2: int) -> float | None:
    """Two-sided score test of equal rates; a zero count goes first (statsmodels divides by the second rate)."""
    if c1 == c2 == 0:
        return None
    first, second = ((c2, n2), (c1, n1)) if c2 == 0 else ((c1, n1), (c2, n2))
    from statsmodels.stats.rates import test_poisson_2indep

    return float(test_poisson_2indep(*first, *second, method="score").pvalue)


# ---- the verdict -----------------------------------------------------------------------------

def quiet_streak(child: ChildFacts, episodes: list[EpisodeFact], sleeps: list[SleepFact],
                 days: list[date] | None = None) -> int:
    """Watched nights in a row, the latest first, with no episode."""
    zone = ZoneInfo(child.timezone)
    watched = sorted({diary_day(s.started_at, zone) for s in sleeps if s.watched and s.kind == "night"},
                     reverse=True)
    with_episodes = set(days or episode_days(child, episodes))
    streak = 0
    for day in watched:
        if day in with_episodes:
            break
        streak += 1
    return streak


def verdict(weeks: list[WeekStats], model: ModelFit | None, quiet_nights: int) -> Verdict:
    observed = sum(w.watched_nights >= t.MIN_WATCHED_NIGHTS_PER_WEEK for w in weeks)
    total = sum(w.episodes for w in weeks)
    if observed < t.MIN_OBSERVED_WEEKS or total < t.MIN_EPISODES:
        return Verdict("insufficient_data", [_too_few_words(observed, total)])
    if quiet_nights >= t.RESOLVED_QUIET_NIGHTS:
        return Verdict("resolved", [lazy_ngettext("The last %(num)s watched night passed without an episode.",
                                                  "The last %(num)s watched nights passed without an episode.",
                                                  quiet_nights)])
    if model is None:
        return Verdict("insufficient_data", [lazy_gettext("The model could not be fitted to these weeks.")])
    described = {"weeks": t.RATE_RATIO_WEEKS, "rate_ratio": formatting.rate_ratio(model)}
    falls, rises = _falls(model), _rises(model)
    if falls and not _rising_lately(model):
        return Verdict("resolving", [lazy_gettext(
            "Rate ratio per %(weeks)s weeks %(rate_ratio)s: the rate falls with age, by at least %(fall)s per "
            "%(weeks)s weeks (%(bound)s).", **described, fall=formatting.share(t.TREND_FALL_AT_LEAST),
            bound=_bound_words(model, falling=True)), _kendall_words(model)])
    if rises:
        return Verdict("worsening", [lazy_gettext(
            "Rate ratio per %(weeks)s weeks %(rate_ratio)s: the rate rises with age (%(bound)s).", **described,
            bound=_bound_words(model, falling=False)), _kendall_words(model)])
    if falls:
        recent = model.recent
        return Verdict("stable", [lazy_ngettext(
            "Rate ratio per %(weeks)s weeks %(rate_ratio)s: the rate fell with age, but over the last %(num)s "
            "watched week it is up again (%(recent)s a night, from %(previous)s): not resolving while it rises.",
            "Rate ratio per %(weeks)s weeks %(rate_ratio)s: the rate fell with age, but over the last %(num)s "
            "watched weeks it is up again (%(recent)s a night, from %(previous)s): not resolving while it rises.",
            recent.weeks, **described, recent=formatting.rate(recent.recent_rate),
            previous=formatting.rate(recent.previous_rate))])
    if model.ci_high < 1 or model.ci_low > 1:
        return Verdict("stable", [lazy_gettext(
            "Rate ratio per %(weeks)s weeks %(rate_ratio)s: a change too small or too uncertain to call "
            "(%(kendall)s).", **described, kendall=_kendall_words(model))])
    return Verdict("stable", [lazy_gettext(
        "Rate ratio per %(weeks)s weeks %(rate_ratio)s: the interval includes 1, no clear change with age.",
        **described)])


def _too_few_words(observed: int, total: int):
    """'2 weeks with at least 3 watched nights (needs 4) and 7 episodes on watched nights (needs 10).'"""
    weeks = lazy_ngettext("%(num)s week with at least %(nights)s watched nights (needs %(needed)s)",
                          "%(num)s weeks with at least %(nights)s watched nights (needs %(needed)s)", observed,
                          nights=t.MIN_WATCHED_NIGHTS_PER_WEEK, needed=t.MIN_OBSERVED_WEEKS)
    episodes = lazy_ngettext("%(num)s episode on watched nights (needs %(needed)s)",
                             "%(num)s episodes on watched nights (needs %(needed)s)", total, needed=t.MIN_EPISODES)
    # Translators: the reason for "insufficient data": "2 weeks with at least 3 watched nights (needs 4) and 7
    # episodes on watched nights (needs 10)."
    return lazy_gettext("%(weeks)s and %(episodes)s.", weeks=weeks, episodes=episodes)


def _falls(model: ModelFit) -> bool:
    return model.resolving_bound < t.RESOLVING_BOUND_BELOW and _trend_agrees(model, falling=True)


def _rises(model: ModelFit) -> bool:
    return model.worsening_bound > t.WORSENING_BOUND_ABOVE and _trend_agrees(model, falling=False)


def _rising_lately(model: ModelFit) -> bool:
    """The last RECENT_WEEKS watched weeks "up" on the ones before (by SAME_WITHIN or more, as the caregiver summary
    words it), clear or not: a course that turned back up (thresholds.py)."""
    recent = model.recent
    return recent is not None and _direction(recent.recent_rate, recent.previous_rate) == "up"


def _bound_words(model: ModelFit, falling: bool):
    if falling:
        return lazy_gettext("one-sided %(confidence)s upper bound %(bound)s, below %(limit)s",
                            confidence=formatting.share(t.RESOLVING_CONFIDENCE, 1),
                            bound=formatting.ratio(model.resolving_bound),
                            limit=formatting.ratio(t.RESOLVING_BOUND_BELOW))
    return lazy_gettext("one-sided %(confidence)s lower bound %(bound)s, above %(limit)s",
                        confidence=formatting.share(t.WORSENING_CONFIDENCE),
                        bound=formatting.ratio(model.worsening_bound),
                        limit=formatting.ratio(t.WORSENING_BOUND_ABOVE))


def _trend_agrees(model: ModelFit, falling: bool) -> bool:
    """The model-free check (CLINICAL.md: Kendall's tau) must point the same way."""
    if model.kendall_tau is None:
        return False
    return model.kendall_tau < 0 if falling else model.kendall_tau > 0


def _kendall_words(model: ModelFit):
    nights = t.MIN_WATCHED_NIGHTS_PER_WEEK
    if model.kendall_tau is None:
        return lazy_gettext("too few weeks with %(nights)s watched nights for Kendall's tau", nights=nights)
    return lazy_gettext("Kendall tau %(tau)s over weeks with at least %(nights)s watched nights",
                        tau=formatting.tau(model), nights=nights)
