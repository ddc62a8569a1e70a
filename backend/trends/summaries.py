"""Plain-language summaries: one for caregivers (never a diagnosis), one with the numbers."""
from backend.trends import thresholds as t
from backend.trends.engine import pooled_rate

NOT_A_DIAGNOSIS = ("This summary of your diary is not a diagnosis. Please talk to your clinician if episodes "
                   "happen while your child is awake, do not stop when your child is woken, come with eye "
                   "deviation, mouth movements, breathing pauses or colour change, or last longer than 30 minutes.")

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
    rate, nights = pooled_rate(recent)
    before, _ = pooled_rate(previous)
    parts = [VERDICT_WORDS[report.verdict.code]]
    if rate is not None:
        sentence = f"{rate:.1f} episodes per watched night over the last {len(recent)} week(s)"
        if before and abs(rate - before) / before >= 0.1:
            change = (rate - before) / before
            direction = "drop" if change < 0 else "rise"
            sentence += f", {'down' if change < 0 else 'up'} from {before:.1f} (a {abs(change):.0%} {direction}"
            sentence += f", based on {nights} watched nights)."
        elif before:
            sentence += f", about the same as the weeks before ({before:.1f}; based on {nights} watched nights)."
        else:
            sentence += f" (based on {nights} watched nights)."
        parts.append(sentence)
    if report.red_flags:
        parts.append("Some entries are worth showing to your clinician: "
                     + "; ".join(flag.message for flag in report.red_flags))
    parts.append(NOT_A_DIAGNOSIS)
    return " ".join(parts)


def clinician_summary(report) -> str:
    model, totals = report.model, report.totals
    parts = [f"Verdict: {report.verdict.code}."]
    if model is not None:
        parts.append(f"RR per {t.RATE_RATIO_WEEKS} weeks {model.rate_ratio_per_4_weeks:.2f} "
                     f"({t.CONFIDENCE:.0%} CI {model.ci_low:.2f}-{model.ci_high:.2f}, p={model.p_value:.3g}; "
                     f"{model.family.replace('_', '-')}, dispersion {model.dispersion:.2f}, "
                     f"{model.weeks_used} weeks).")
        if model.kendall_tau is not None:
            parts.append(f"Kendall tau {model.kendall_tau:.2f} (one-sided p={model.kendall_p_value:.3g}).")
        if model.recent is not None and model.recent.rate_ratio is not None:
            r = model.recent
            parts.append(f"Last {r.weeks} weeks {r.recent_rate:.2f}/night vs {r.previous_rate:.2f} "
                         f"(ratio {r.rate_ratio:.2f}, p={r.p_value:.3g}).")
    parts.append(f"{totals['episodes']} episodes on {totals['watched_nights']} watched nights, "
                 f"{totals['observed_weeks']} observed weeks.")
    age = report.corrected_age_weeks_now if report.corrected_age_weeks_now is not None else report.age_weeks_now
    for point in report.reference_points:
        if point.applies:
            parts.append(f"By {point.label} (corrected) {point.share_resolved:.0%} of BNSM has resolved"
                         f"{' - passed' if age >= point.corrected_age_weeks else ''}.")
    if report.red_flags:
        parts.append("Red flags: " + ", ".join(f"{f.code} ({len(f.evidence)})" for f in report.red_flags) + ".")
    return " ".join(parts)
