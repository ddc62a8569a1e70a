"""export.csv: the diary and the weekly series in one file, a titled block each."""
import csv
import io

from backend.diary.models import Episode, SleepSession
from backend.trends.report import TrendReport
from backend.trends.schemas import WeekSchema

EPISODE_COLUMNS = ("id", "started_at", "timezone", "duration_seconds", "sleep_state", "stopped_when_woken", "side",
                   "body_parts", "signs", "triggers", "jerk_count", "notes", "video_ref", "logged_by")
SLEEP_COLUMNS = ("id", "started_at", "ended_at", "kind", "watched", "notes", "logged_by")
WEEK_COLUMNS = tuple(WeekSchema().fields)
# What makes a spreadsheet read a cell as a formula (OWASP, CSV injection); a line break before one too.
FORMULA_STARTS = frozenset("=+-@\t\r\n")


def export_csv(episodes: list[Episode], sleeps: list[SleepSession], report: TrendReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    _block(writer, "Episodes", EPISODE_COLUMNS, (_values(e, EPISODE_COLUMNS) for e in episodes))
    _block(writer, "Sleep sessions", SLEEP_COLUMNS, (_values(s, SLEEP_COLUMNS) for s in sleeps))
    weeks = WeekSchema(many=True).dump(report.weekly)
    _block(writer, "Weekly series", WEEK_COLUMNS, ([w[c] for c in WEEK_COLUMNS] for w in weeks))
    return out.getvalue()


def _block(writer, title: str, columns: tuple[str, ...], rows) -> None:
    writer.writerow([title])
    writer.writerow(columns)
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
