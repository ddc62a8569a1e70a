"""export.csv: the diary and the weekly series in one file, a titled block each.

The block titles and the header row are in the requester's language (issue 22); in English the header row holds
the column keys, as it always has. Whatever the language, the columns keep their order and the values stay
machine-readable: ISO 8601 dates and times, the diary's codes (`asleep`, `left`, ...), numbers with a decimal
point and no grouping, comma-separated. So a spreadsheet or a re-import reads any language's file by position,
and an English file by its keys.
"""
import csv
import io

from backend.diary.models import Episode, SleepSession
from backend.i18n import lazy_gettext
from backend.trends.report import TrendReport
from backend.trends.schemas import WeekSchema

EPISODE_COLUMNS = ("id", "started_at", "timezone", "duration_seconds", "sleep_state", "stopped_when_woken", "side",
                   "body_parts", "signs", "triggers", "jerk_count", "notes", "video_ref", "logged_by")
SLEEP_COLUMNS = ("id", "started_at", "ended_at", "kind", "watched", "notes", "logged_by")
WEEK_COLUMNS = tuple(WeekSchema().fields)
# Translators: the CSV export's header row. Each English text is the column's key, shown as it is to English
# readers; write the column's meaning in a few words without commas (values stay codes, ISO dates, seconds).
HEADERS = {
    "id": lazy_gettext("id"),
    # Translators: CSV column: when the episode or sleep began (ISO 8601 date and time)
    "started_at": lazy_gettext("started_at"),
    # Translators: CSV column: when the sleep ended (ISO 8601 date and time)
    "ended_at": lazy_gettext("ended_at"),
    # Translators: CSV column: the IANA time zone the episode was logged in (Europe/Berlin)
    "timezone": lazy_gettext("timezone"),
    # Translators: CSV column: how long the episode lasted, in seconds
    "duration_seconds": lazy_gettext("duration_seconds"),
    # Translators: CSV column: asleep, falling asleep, waking or awake when the episode happened
    "sleep_state": lazy_gettext("sleep_state"),
    # Translators: CSV column: did the episode stop when the child was woken (yes, no, not tried)
    "stopped_when_woken": lazy_gettext("stopped_when_woken"),
    # Translators: CSV column: the side of the body (left, right, both)
    "side": lazy_gettext("side"),
    # Translators: CSV column: the body parts that jerked
    "body_parts": lazy_gettext("body_parts"),
    # Translators: CSV column: warning signs seen during the episode
    "signs": lazy_gettext("signs"),
    # Translators: CSV column: what may have set the episode off
    "triggers": lazy_gettext("triggers"),
    # Translators: CSV column: how many jerks were counted
    "jerk_count": lazy_gettext("jerk_count"),
    # Translators: CSV column: the caregiver's notes
    "notes": lazy_gettext("notes"),
    # Translators: CSV column: a reference to the episode's video
    "video_ref": lazy_gettext("video_ref"),
    # Translators: CSV column: the id of the account that logged the entry
    "logged_by": lazy_gettext("logged_by"),
    # Translators: CSV column: night sleep or nap
    "kind": lazy_gettext("kind"),
    # Translators: CSV column: whether someone watched the child during that sleep (true or false)
    "watched": lazy_gettext("watched"),
    # Translators: CSV column: the week's number in the series
    "week": lazy_gettext("week"),
    # Translators: CSV column: the week's first day (ISO date)
    "start": lazy_gettext("start"),
    # Translators: CSV column: the child's age in weeks at the week's start
    "age_weeks": lazy_gettext("age_weeks"),
    # Translators: CSV column: the child's corrected age (from the due date) in weeks at the week's start
    "corrected_age_weeks": lazy_gettext("corrected_age_weeks"),
    # Translators: CSV column: episodes on watched nights
    "episodes": lazy_gettext("episodes"),
    # Translators: CSV column: episodes seen on nights nobody watched
    "unwatched_episodes": lazy_gettext("unwatched_episodes"),
    # Translators: CSV column: how many nights someone watched
    "watched_nights": lazy_gettext("watched_nights"),
    # Translators: CSV column: how many hours someone watched
    "watched_hours": lazy_gettext("watched_hours"),
    # Translators: CSV column: episodes per watched night
    "episodes_per_night": lazy_gettext("episodes_per_night"),
    # Translators: CSV column: episodes per watched hour
    "episodes_per_hour": lazy_gettext("episodes_per_hour"),
    # Translators: CSV column: the episodes' mean duration in seconds
    "mean_duration_seconds": lazy_gettext("mean_duration_seconds"),
    # Translators: CSV column: the share of episodes while awake (0 to 1)
    "share_awake": lazy_gettext("share_awake"),
    # Translators: CSV column: the share of episodes that did not stop on waking (0 to 1)
    "share_not_stopped_on_waking": lazy_gettext("share_not_stopped_on_waking"),
}
# Translators: titles of the CSV export's three blocks
TITLES = {"episodes": lazy_gettext("Episodes"), "sleeps": lazy_gettext("Sleep sessions"),
          "weeks": lazy_gettext("Weekly series")}
# What makes a spreadsheet read a cell as a formula (OWASP, CSV injection); a line break before one too.
FORMULA_STARTS = frozenset("=+-@\t\r\n")


def export_csv(episodes: list[Episode], sleeps: list[SleepSession], report: TrendReport) -> str:
    """The file in the current locale's words, its values the same in every language."""
    out = io.StringIO()
    writer = csv.writer(out)
    _block(writer, TITLES["episodes"], EPISODE_COLUMNS, (_values(e, EPISODE_COLUMNS) for e in episodes))
    _block(writer, TITLES["sleeps"], SLEEP_COLUMNS, (_values(s, SLEEP_COLUMNS) for s in sleeps))
    weeks = WeekSchema(many=True).dump(report.weekly)
    _block(writer, TITLES["weeks"], WEEK_COLUMNS, ([w[c] for c in WEEK_COLUMNS] for w in weeks))
    return out.getvalue()


def header_row(columns: tuple[str, ...]) -> list[str]:
    """The columns' names in the current locale (their keys in English)."""
    return [str(HEADERS.get(column, column)) for column in columns]


def _block(writer, title, columns: tuple[str, ...], rows) -> None:
    writer.writerow([str(title)])
    writer.writerow(header_row(columns))
    writer.writerows(rows)
    writer.writerow([])


def _values(row, columns: tuple[str, ...]) -> list:
    return [_cell(getattr(row, column)) for column in columns]


def _cell(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value  # no formulas from notes in a spreadsheet
    return "" if value is None else value
