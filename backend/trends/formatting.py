"""How the trend's numbers read, written once: the verdict's reasons, the summaries, the chart and the emails.

Every value here is lazy (backend.i18n): it renders in the reader's locale when read ('0.62', '0,62'; '64%',
'64 %'), with the digits Python's own rounding gives, so English reads as it always has.
"""
from copy import copy
from decimal import Decimal

from backend.i18n import current_locale, lazy, lazy_gettext, number
from backend.trends import thresholds as t


def fixed(value: float, digits: int):
    """A number with this many decimals in the reader's format: fixed(0.615, 2) reads '0.62', '0,62'."""
    return _digits(f"{value:.{digits}f}")


def _digits(text: str):
    """A number as Python wrote it ('0.000303', '-0.73', '1.58e-13') in the reader's separators, its digits kept."""
    mantissa, _, exponent = text.partition("e")
    decimals = len(mantissa.partition(".")[2])
    shown = number(Decimal(mantissa), "#,##0." + "0" * decimals if decimals else "#,##0")
    return lazy("{}e{}".format, shown, exponent) if exponent else shown


def share(value: float, decimals: int = 0):
    """'64%', '99.8%', '64 %' (es, de): a share in the reader's percent format, rounded as Python rounds it."""
    exact = Decimal(format(value, f".{decimals}%")[:-1]) / 100
    return lazy(_percent, exact, decimals)


def _percent(value: Decimal, decimals: int) -> str:
    locale = current_locale()
    pattern = copy(locale.percent_formats[None])  # the locale's own spacing and sign, with these decimals
    pattern.frac_prec = (decimals, decimals)
    return pattern.apply(value, locale)


# Translators: the rate ratio is the statistic "episodes per night now / episodes per night 4 weeks of age earlier"
RATE_RATIO = lazy_gettext("rate ratio per %(weeks)s weeks", weeks=t.RATE_RATIO_WEEKS)


def rate(value: float):
    """Episodes per watched night as a caregiver reads them: one decimal, two below 0.1 so that a rare episode does
    not read as none."""
    return fixed(value, _rate_decimals(value))


def _rate_decimals(value: float) -> int:
    return 2 if 0 < value < 0.1 else 1


def read_alike(first: float, second: float) -> bool:
    """Two rates that `rate` writes with the same digits (in every locale)."""
    return f"{first:.{_rate_decimals(first)}f}" == f"{second:.{_rate_decimals(second)}f}"


def ratio(value: float):
    return fixed(value, 2)


def p_value(value: float):
    return _digits(f"{value:.3g}")


def interval(model):
    """'95% CI 0.32-0.48': the rate ratio's confidence interval."""
    # Translators: CI is a statistical confidence interval, "95% CI 0.32-0.48"
    return lazy_gettext("%(confidence)s CI %(low)s-%(high)s", confidence=share(t.CONFIDENCE),
                        low=ratio(model.ci_low), high=ratio(model.ci_high))


def rate_ratio(model):
    """'0.40 (95% CI 0.32-0.48)': the rate ratio per 4 weeks with its interval."""
    return lazy("{} ({})".format, ratio(model.rate_ratio_per_4_weeks), interval(model))


def tau(model):
    return fixed(model.kendall_tau, 2)


def kendall(model, rising: bool = False):
    """'-0.73 (one-sided p=0.000303)', or with the rising test too '-0.73 (one-sided p=0.000303 falling, 1 rising)'."""
    if rising:
        # Translators: Kendall's tau with its one-sided p-values for a falling and for a rising trend
        return lazy_gettext("%(tau)s (one-sided p=%(falling)s falling, %(rising)s rising)", tau=tau(model),
                            falling=p_value(model.kendall_p_value), rising=p_value(model.kendall_p_value_rising))
    # Translators: Kendall's tau with its one-sided p-value, "-0.73 (one-sided p=0.000303)"
    return lazy_gettext("%(tau)s (one-sided p=%(p)s)", tau=tau(model), p=p_value(model.kendall_p_value))


def reference_age(point):
    """'3 months (corrected)': a reference mark's age."""
    # Translators: a corrected age (counted from the due date of a child born early), "3 months (corrected)"
    return lazy_gettext("%(age)s (corrected)", age=point.label)


def resolved_share(point):
    """'64% of BNSM': the share resolved by a reference mark's age."""
    # Translators: BNSM is benign neonatal sleep myoclonus; "64% of BNSM" (of the children who have it)
    return lazy_gettext("%(share)s of BNSM", share=share(point.share_resolved))


def fitted_trend(model):
    """'Fitted trend: x0.40 per 4 weeks': the charts' legend for the model line."""
    return lazy_gettext("Fitted trend: x%(ratio)s per %(weeks)s weeks", ratio=ratio(model.rate_ratio_per_4_weeks),
                        weeks=t.RATE_RATIO_WEEKS)


CONFIDENCE_BAND = lazy_gettext("%(confidence)s confidence band", confidence=share(t.CONFIDENCE))


def reference_mark(point):
    """'3 months: 64% of BNSM resolved': a reference mark's label on the charts."""
    # Translators: a mark on the chart: by this age (corrected), this share of children with BNSM no longer have it
    return lazy_gettext("%(age)s: %(share)s of BNSM resolved", age=point.label, share=share(point.share_resolved))
