"""Plain-language summaries: one for caregivers (never a diagnosis), one with the numbers.

Both are written in the current locale when called; a report keeps them lazy (`lazy(caregiver_summary, report)`),
so it reads in whichever language it is read in.
"""
from flask_babel import gettext, ngettext

from backend.i18n import day, duration, lazy_gettext, number
from backend.trends import formatting
from backend.trends import thresholds as t
from backend.trends.engine import compare_rates, pooled_rate

NOT_A_DIAGNOSIS = lazy_gettext(
    "This summary of your diary is not a diagnosis. Please talk to your clinician if episodes happen while your "
    "child is awake, do not stop when your child is woken, come with eye deviation, mouth movements, breathing "
    "pauses or colour change, or last longer than %(duration)s.",
    duration=duration(t.LONG_EPISODE_SECONDS // 60, "minute"))

URGENT_FLAGS = ("spasms_pattern",)  # said first, in the product's most urgent words

VERDICT_WORDS = {
    "resolved": lazy_gettext("No episodes on the latest watched nights: the movements look resolved."),
    "resolving": lazy_gettext("The movements are becoming less frequent as your child grows."),
    "stable": lazy_gettext("The movements are about as frequent as before."),
    "worsening": lazy_gettext("The movements are becoming more frequent; please discuss this with your clinician."),
    "insufficient_data": lazy_gettext("There are not enough watched nights yet to see a trend: please keep logging."),
}

VERDICT_NAMES = {  # the clinician summary's "Verdict: resolving." (the same words as the charts' verdict labels)
    # Translators: a verdict on the jerks' trend: they have stopped
    "resolved": lazy_gettext("resolved"),
    # Translators: a verdict on the jerks' trend: they are becoming less frequent
    "resolving": lazy_gettext("resolving"),
    # Translators: a verdict on the jerks' trend: about as frequent as before
    "stable": lazy_gettext("stable"),
    # Translators: a verdict on the jerks' trend: becoming more frequent
    "worsening": lazy_gettext("worsening"),
    # Translators: a verdict on the jerks' trend: too few watched nights to tell
    "insufficient_data": lazy_gettext("insufficient data"),
}


def _windows(report, k: int = t.RECENT_WEEKS):
    watched = [w for w in report.weekly if w.watched_nights > 0]
    recent, previous = watched[-k:], watched[-2 * k:-k]
    return recent, previous


def caregiver_summary(report) -> str:
    recent, previous = _windows(report)
    urgent = [flag.message for flag in report.red_flags if flag.code in URGENT_FLAGS]
    parts = [*urgent, VERDICT_WORDS[report.verdict.code]]
    if recent:  # watched weeks only
        parts.append(_recent_sentence(recent, previous))
    compared = [treatment.comparison for treatment in report.treatments if treatment.comparison is not None]
    if compared:  # the latest medicine's start, in the report's own words
        parts.append(compared[-1].summary)
    others = [str(flag.message) for flag in report.red_flags if flag.code not in URGENT_FLAGS]
    if others:
        parts.append(gettext("Some entries are worth showing to your clinician: %(flags)s", flags="; ".join(others)))
    parts.append(NOT_A_DIAGNOSIS)
    return " ".join(str(part) for part in parts)


def _recent_sentence(recent, previous) -> str:
    """The last weeks' rate, against the weeks before when they had episodes: a change or "about the same"."""
    (rate, nights), (before, before_nights) = pooled_rate(recent), pooled_rate(previous)
    words = {"rate": formatting.fixed(rate, 1), "based": ngettext(
        "based on %(num)s watched night", "based on %(num)s watched nights", nights)}
    weeks = len(recent)
    if not before:
        return ngettext("%(rate)s episodes per watched night over the last %(num)s week (%(based)s).",
                        "%(rate)s episodes per watched night over the last %(num)s weeks (%(based)s).", weeks, **words)
    episodes, before_episodes = sum(w.episodes for w in recent), sum(w.episodes for w in previous)
    words["before"] = formatting.fixed(before, 1)
    if compare_rates(episodes, nights, before_episodes, before_nights).direction == "same":
        return ngettext("%(rate)s episodes per watched night over the last %(num)s week, about the same as the weeks "
                        "before (%(before)s; %(based)s).",
                        "%(rate)s episodes per watched night over the last %(num)s weeks, about the same as the weeks "
                        "before (%(before)s; %(based)s).", weeks, **words)
    change = (rate - before) / before
    words["change"] = formatting.share(abs(change))
    if change < 0:
        return ngettext("%(rate)s episodes per watched night over the last %(num)s week, down from %(before)s (a "
                        "%(change)s drop, %(based)s).",
                        "%(rate)s episodes per watched night over the last %(num)s weeks, down from %(before)s (a "
                        "%(change)s drop, %(based)s).", weeks, **words)
    return ngettext("%(rate)s episodes per watched night over the last %(num)s week, up from %(before)s (a "
                    "%(change)s rise, %(based)s).",
                    "%(rate)s episodes per watched night over the last %(num)s weeks, up from %(before)s (a "
                    "%(change)s rise, %(based)s).", weeks, **words)


def clinician_summary(report) -> str:
    model, totals = report.model, report.totals
    parts = [gettext("Verdict: %(verdict)s.", verdict=VERDICT_NAMES[report.verdict.code])]
    if model is not None:
        parts.append(_model_sentence(model))
        if model.kendall_tau is not None:
            # Translators: Kendall's tau, a statistic: "Kendall tau -0.73 (one-sided p=0.000303)."
            parts.append(gettext("Kendall tau %(kendall)s.", kendall=formatting.kendall(model)))
        if model.recent is not None and model.recent.rate_ratio is not None:
            parts.append(_recent_numbers(model.recent))
    parts.append(_totals_sentence(totals))
    for point in report.reference_points:
        if point.applies:
            parts.append(_reference_sentence(point))
    if any(treatment.comparison is not None for treatment in report.treatments):
        parts.append(_medicines_sentence(report.treatments))
    if report.red_flags:
        parts.append(gettext("Red flags: %(flags)s.", flags=", ".join(
            f"{flag.code} ({_evidence(flag)})" for flag in report.red_flags)))
    return " ".join(str(part) for part in parts)


def _model_sentence(model) -> str:
    """'RR per 4 weeks 0.40 (95% CI 0.30-0.52, p=1.58e-13; quasi-poisson, dispersion 1.47, 13 weeks).'"""
    # Translators: RR is the rate ratio; the model family (poisson, quasi-poisson) is a statistical term
    return ngettext("RR per %(rr_weeks)s weeks %(ratio)s (%(interval)s, p=%(p)s; %(family)s, dispersion "
                    "%(dispersion)s, %(num)s week).",
                    "RR per %(rr_weeks)s weeks %(ratio)s (%(interval)s, p=%(p)s; %(family)s, dispersion "
                    "%(dispersion)s, %(num)s weeks).", model.weeks_used, rr_weeks=t.RATE_RATIO_WEEKS,
                    ratio=formatting.ratio(model.rate_ratio_per_4_weeks), interval=formatting.interval(model),
                    p=formatting.p_value(model.p_value), family=model.family.replace("_", "-"),
                    dispersion=formatting.fixed(model.dispersion, 2))


def _recent_numbers(recent) -> str:
    """'Last 3 weeks 0.38/night vs 1.22 (ratio 0.31, p=0.00658).'"""
    return ngettext("Last %(num)s week %(recent)s/night vs %(previous)s (ratio %(ratio)s, p=%(p)s).",
                    "Last %(num)s weeks %(recent)s/night vs %(previous)s (ratio %(ratio)s, p=%(p)s).", recent.weeks,
                    recent=formatting.fixed(recent.recent_rate, 2), previous=formatting.fixed(recent.previous_rate, 2),
                    ratio=formatting.ratio(recent.rate_ratio), p=formatting.p_value(recent.p_value))


def _totals_sentence(totals: dict) -> str:
    """'160 episodes on 77 watched nights, 13 observed weeks.'"""
    episodes = ngettext("%(count)s episode", "%(count)s episodes", totals["episodes"],
                        count=number(totals["episodes"]))
    # Translators: "on 77 watched nights", following "160 episodes"
    nights = ngettext("on %(count)s watched night", "on %(count)s watched nights", totals["watched_nights"],
                      count=number(totals["watched_nights"]))
    weeks = ngettext("%(num)s observed week", "%(num)s observed weeks", totals["observed_weeks"])
    # Translators: "160 episodes on 77 watched nights, 13 observed weeks."
    return gettext("%(episodes)s %(on_nights)s, %(weeks)s.", episodes=episodes, on_nights=nights, weeks=weeks)


def _reference_sentence(point) -> str:
    """'By 3 months (corrected) 64% of BNSM has resolved - passed.'"""
    words = {"age": formatting.reference_age(point), "share": formatting.resolved_share(point)}
    if point.passed:
        # Translators: "By 3 months (corrected) 64% of BNSM has resolved - passed." (the child is past that age)
        return gettext("By %(age)s %(share)s has resolved - passed.", **words)
    return gettext("By %(age)s %(share)s has resolved.", **words)


def _evidence(flag) -> str:
    """How many records a flag rests on; development checks and episodes counted apart."""
    checks, rest = flag.evidence_counts()
    if not checks:
        return str(number(rest))
    counted = ngettext("%(num)s development check", "%(num)s development checks", checks)
    if not rest:
        return counted
    episodes = ngettext("%(count)s episode", "%(count)s episodes", rest, count=number(rest))
    return f"{counted}, {episodes}"


def _medicines_sentence(treatments) -> str:
    """'Medicines, 14 days before vs after the start: Phenobarbital (19 Nov 2026) 2.75 vs 1.08/night (ratio 0.39,
    p=0.00319; 12 and 12 nights).'"""
    return gettext("Medicines, %(days)s days before vs after the start: %(medicines)s.", days=t.TREATMENT_WINDOW_DAYS,
                   medicines="; ".join(_medicine_words(treatment) for treatment in treatments
                                       if treatment.comparison is not None))


def _medicine_words(treatment) -> str:
    c = treatment.comparison
    words = {"medicine": treatment.name, "started": day(treatment.started_on, "medium")}
    if c.result == "insufficient_data":
        return gettext("%(medicine)s (%(started)s) too few watched nights", **words)
    # Translators: "not applicable": no rate ratio or p-value (no episode before the start)
    missing = gettext("n/a")
    return gettext("%(medicine)s (%(started)s) %(before)s vs %(after)s/night (ratio %(ratio)s, p=%(p)s; "
                   "%(before_nights)s and %(after_nights)s nights)", **words,
                   before=formatting.fixed(c.before.rate, 2), after=formatting.fixed(c.after.rate, 2),
                   ratio=missing if c.rate_ratio is None else formatting.ratio(c.rate_ratio),
                   p=missing if c.p_value is None else formatting.p_value(c.p_value),
                   before_nights=c.before.nights, after_nights=c.after.nights)
