"""Plain-language summaries: one for caregivers (never a diagnosis), one with the numbers."""
from backend.trends import formatting
from backend.trends import thresholds as t
from backend.trends.engine import compare_rates, pooled_rate

NOT_A_DIAGNOSIS = ("This summary of your diary is not a diagnosis. Please talk to your clinician if episodes "
                   "happen while your child is awake, do not stop when your child is woken, come with eye "
                   "deviation, mouth movements, breathing pauses or colour change, or last longer than "
                   f"{t.LONG_EPISODE_SECONDS // 60} minutes.")

URGENT_FLAGS = ("spasms_pattern",)  # said first, in the product's most urgent words

VERDICT_WORDS = {
    "resolved": "No episodes on the latest watched nights: the movements look resolved.",
    "resolving": "The movements are becoming less frequent as your child grows.",
    "stable": "The movements are about as frequent as before.",
    "worsening": "The movements are becoming more frequent; please discuss this with your clinician.",
    "insufficient_data": "There are not enough watched nights yet to see a trend: please keep logging.",
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
    if any(flag.code not in URGENT_FLAGS for flag in report.red_flags):
        parts.append("Some entries are worth showing to your clinician: "
                     + "; ".join(flag.message for flag in report.red_flags if flag.code not in URGENT_FLAGS))
    parts.append(NOT_A_DIAGNOSIS)
    return " ".join(parts)


def _recent_sentence(recent, previous) -> str:
    """The last weeks' rate, against the weeks before when they had episodes: a change or "about the same"."""
    (rate, nights), (before, before_nights) = pooled_rate(recent), pooled_rate(previous)
    sentence = f"{rate:.1f} episodes per watched night over the last {len(recent)} week(s)"
    if not before:
        return f"{sentence} (based on {nights} watched nights)."
    episodes, before_episodes = sum(w.episodes for w in recent), sum(w.episodes for w in previous)
    if compare_rates(episodes, nights, before_episodes, before_nights).direction == "same":
        return f"{sentence}, about the same as the weeks before ({before:.1f}; based on {nights} watched nights)."
    change = (rate - before) / before
    direction = "drop" if change < 0 else "rise"
    return (f"{sentence}, {'down' if change < 0 else 'up'} from {before:.1f} (a {abs(change):.0%} {direction}"
            f", based on {nights} watched nights).")


def clinician_summary(report) -> str:
    model, totals = report.model, report.totals
    parts = [f"Verdict: {report.verdict.code}."]
    if model is not None:
        parts.append(f"RR per {t.RATE_RATIO_WEEKS} weeks {formatting.ratio(model.rate_ratio_per_4_weeks)} "
                     f"({formatting.interval(model)}, p={formatting.p_value(model.p_value)}; "
                     f"{model.family.replace('_', '-')}, dispersion {model.dispersion:.2f}, "
                     f"{model.weeks_used} weeks).")
        if model.kendall_tau is not None:
            parts.append(f"Kendall tau {formatting.kendall(model)}.")
        if model.recent is not None and model.recent.rate_ratio is not None:
            r = model.recent
            parts.append(f"Last {r.weeks} weeks {r.recent_rate:.2f}/night vs {r.previous_rate:.2f} "
                         f"(ratio {formatting.ratio(r.rate_ratio)}, p={formatting.p_value(r.p_value)}).")
    parts.append(f"{totals['episodes']} episodes on {totals['watched_nights']} watched nights, "
                 f"{totals['observed_weeks']} observed weeks.")
    for point in report.reference_points:
        if point.applies:
            parts.append(f"By {formatting.reference_age(point)} {formatting.resolved_share(point)} has resolved"
                         f"{' - passed' if point.passed else ''}.")
    if any(treatment.comparison is not None for treatment in report.treatments):
        parts.append(_medicines_sentence(report.treatments))
    if report.red_flags:
        parts.append("Red flags: " + ", ".join(f"{f.code} ({_evidence(f)})" for f in report.red_flags) + ".")
    return " ".join(parts)


def _evidence(flag) -> str:
    """How many records a flag rests on; development checks and episodes counted apart."""
    checks, rest = flag.evidence_counts()
    if not checks:
        return str(rest)
    counted = f"{checks} development check{'s' if checks != 1 else ''}"
    return counted if not rest else f"{counted}, {rest} episode{'s' if rest != 1 else ''}"


def _medicines_sentence(treatments) -> str:
    """'Medicines, 14 days before vs after the start: Phenobarbital (2026-11-19) 2.75 vs 1.08/night (ratio 0.39,
    p=0.00319; 12 and 12 nights).'"""
    return (f"Medicines, {t.TREATMENT_WINDOW_DAYS} days before vs after the start: "
            + "; ".join(_medicine_words(treatment) for treatment in treatments if treatment.comparison is not None)
            + ".")


def _medicine_words(treatment) -> str:
    c = treatment.comparison
    if c.result == "insufficient_data":
        return f"{treatment.name} ({treatment.started_on.isoformat()}) too few watched nights"
    ratio = "n/a" if c.rate_ratio is None else formatting.ratio(c.rate_ratio)
    p = "n/a" if c.p_value is None else formatting.p_value(c.p_value)
    return (f"{treatment.name} ({treatment.started_on.isoformat()}) {c.before.rate:.2f} vs {c.after.rate:.2f}/night "
            f"(ratio {ratio}, p={p}; {c.before.nights} and {c.after.nights} nights)")
