"""Chronological and corrected age (../shared/CLINICAL.md, "Age"). Pure functions."""
from dataclasses import asdict, dataclass
from datetime import date

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
    display: str


def describe(days: int) -> Age:
    weeks, months = days / 7, days / DAYS_PER_MONTH
    return Age(days=days, weeks=round(weeks, 1), months=round(months, 1),
               display=_display(days, weeks, months))


def _display(days: int, weeks: float, months: float) -> str:
    if days < 0:
        return f"{_plural(int(-weeks), 'week')} before term"
    if weeks < 1:
        return _plural(days, "day")
    if weeks < WEEKS_SHOWN_UNTIL:
        return _plural(int(weeks), "week")
    return _plural(int(months), "month")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


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
