"""How the trend's numbers read, written once: the verdict's reasons, the summaries, the chart and the emails."""
from backend.trends import thresholds as t

RATE_RATIO = f"rate ratio per {t.RATE_RATIO_WEEKS} weeks"


def rate(value: float) -> str:
    """Episodes per watched night as a caregiver reads them: one decimal, two below 0.1 so that a rare episode does
    not read as none."""
    return f"{value:.2f}" if 0 < value < 0.1 else f"{value:.1f}"


def ratio(value: float) -> str:
    return f"{value:.2f}"


def p_value(value: float) -> str:
    return f"{value:.3g}"


def interval(model) -> str:
    """'95% CI 0.32-0.48': the rate ratio's confidence interval."""
    return f"{t.CONFIDENCE:.0%} CI {ratio(model.ci_low)}-{ratio(model.ci_high)}"


def rate_ratio(model) -> str:
    """'0.40 (95% CI 0.32-0.48)': the rate ratio per 4 weeks with its interval."""
    return f"{ratio(model.rate_ratio_per_4_weeks)} ({interval(model)})"


def tau(model) -> str:
    return f"{model.kendall_tau:.2f}"


def kendall(model, rising: bool = False) -> str:
    """'-0.73 (one-sided p=0.000303)', or with the rising test too '-0.73 (one-sided p=0.000303 falling, 1 rising)'."""
    both_ways = f" falling, {p_value(model.kendall_p_value_rising)} rising" if rising else ""
    return f"{tau(model)} (one-sided p={p_value(model.kendall_p_value)}{both_ways})"


def reference_age(point) -> str:
    """'3 months (corrected)': a reference mark's age."""
    return f"{point.label} (corrected)"


def resolved_share(point) -> str:
    """'64% of BNSM': the share resolved by a reference mark's age."""
    return f"{point.share_resolved:.0%} of BNSM"


def fitted_trend(model) -> str:
    """'Fitted trend: x0.40 per 4 weeks': the charts' legend for the model line."""
    return f"Fitted trend: x{ratio(model.rate_ratio_per_4_weeks)} per {t.RATE_RATIO_WEEKS} weeks"


CONFIDENCE_BAND = f"{t.CONFIDENCE:.0%} confidence band"


def reference_mark(point) -> str:
    """'3 months: 64% of BNSM resolved': a reference mark's label on the charts."""
    return f"{point.label}: {resolved_share(point)} resolved"
