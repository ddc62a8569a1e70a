"""Chronological and corrected age (../shared/CLINICAL.md, "Age"). Pure functions; the words are read in the
reader's language ("11 weeks", "11 Wochen"; CLDR's units and plural forms)."""
from dataclasses import asdict, dataclass
from datetime import date

from backend.i18n import duration, lazy_gettext

TERM_WEEKS = 40
# Corrected age is shown beside chronological age for children born before 37 weeks,
# and clinicians use it up to about 2 years (AAP, Pediatrics 2004;114:1362).
PRETERM_BEFORE_WEEKS = 37
CORRECTED_AGE_USED_UNTIL_DAYS = 2 * 365
# Age reads in weeks up to 13 weeks, then in months.
WEEKS_SHOWN_UNTIL = 13
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Age:
    days: int
    weeks: float
    months: float
    display: str  # lazy: rendered in the reader's language when read


def describe(days: int) -> Age:
    weeks, months = days / 7, days / DAYS_PER_MONTH
    return Age(days=days, weeks=round(weeks, 1), months=round(months, 1),
               display=_display(days, weeks, months))


def _display(days: int, weeks: float, months: float):
    if days < 0:
        return lazy_gettext("%(weeks)s before term", weeks=duration(int(-weeks), "week"))
    if weeks < 1:
        return duration(days, "day")
    if weeks < WEEKS_SHOWN_UNTIL:
        return duration(int(weeks), "week")
    return duration(int(months), "month")


def age_words(ages: dict):
    """'5 months', or '5 months, corrected 3 months' when the corrected age is shown: `ages_on`'s ages in words."""
    if not ages["show_corrected"]:
        return ages["chronological"]["display"]
    return lazy_gettext("%(age)s, corrected %(corrected)s", age=ages["chronological"]["display"],
                        corrected=ages["corrected"]["display"])


def prematurity_days(gestational_weeks: float | None) -> int:
    if gestational_weeks is None:
        return 0
    return round((TERM_WEEKS - gestational_weeks) * 7)


def ages_on(birth_date: date, on: date, gestational_weeks: float | None) -> dict:
    """The child's ages on a day, as the API shows them."""
    chronological_days = (on - birth_date).days
    corrected = None
    if gestational_weeks is not None:
        corrected = asdict(describe(chronological_days - prematurity_days(gestational_weeks)))
    return {
        "chronological": asdict(describe(chronological_days)),
        "corrected": corrected,
        "show_corrected": (gestational_weeks is not None
                           and gestational_weeks < PRETERM_BEFORE_WEEKS
                           and chronological_days < CORRECTED_AGE_USED_UNTIL_DAYS),
    }
