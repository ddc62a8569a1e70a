"""When a child's reminder emails go out, in the reader's words: the dashboard's schedule line and the emails'
footer ("every Sunday at 19:00 (Europe/Berlin)", "jeden Sonntag um 19:00"). Weekday names and the time format
come from CLDR, for the reader's locale; the time is the schedule's own, local to its zone."""
from datetime import time

from babel import dates as babel_dates
from flask_babel import gettext

from backend.i18n import current_locale, lazy_gettext
from backend.reminders.models import WEEKDAYS

SCHEDULES = {"weekly": lazy_gettext("Weekly, on %(weekday)s at %(time)s (%(zone)s)"),
             "biweekly": lazy_gettext("Every 2 weeks, on %(weekday)s at %(time)s (%(zone)s)"),
             "monthly": lazy_gettext("Monthly, on the first %(weekday)s at %(time)s (%(zone)s)")}


def weekday_name(code: str) -> str:
    """'Monday', 'Montag', 'lunes' for a weekday code."""
    return current_locale().days["format"]["wide"][WEEKDAYS.index(code)] if code in WEEKDAYS else code


def clock(value: str) -> str:
    """'20:00' (a schedule's local time, 'HH:MM') in the reader's time format."""
    try:
        return babel_dates.format_time(time.fromisoformat(value), "short", locale=current_locale())
    except ValueError:
        return value


def schedule_words(cadence: str, weekday: str, local_time: str, zone: str) -> str:
    """'Weekly, on Monday at 20:00 (Europe/Madrid)'."""
    sentence = SCHEDULES.get(cadence, SCHEDULES["weekly"])
    return str(sentence) % {"weekday": weekday_name(weekday), "time": clock(local_time), "zone": zone}


def footer_words(child: str, cadence: str, weekday: str, local_time: str, zone: str) -> str:
    """The emails' footer: who sends what, and when."""
    words = {"child": child, "weekday": weekday_name(weekday), "time": clock(local_time), "zone": zone}
    if cadence == "biweekly":
        return gettext("Myodiary sends %(child)s's diary summary to the care team every 2 weeks, on %(weekday)s at "
                       "%(time)s (%(zone)s).", **words)
    if cadence == "monthly":
        return gettext("Myodiary sends %(child)s's diary summary to the care team on the first %(weekday)s of each "
                       "month at %(time)s (%(zone)s).", **words)
    return gettext("Myodiary sends %(child)s's diary summary to the care team every %(weekday)s at %(time)s "
                   "(%(zone)s).", **words)
