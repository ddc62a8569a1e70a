"""One child's trend report: built from its stored diary, or read back from its fresh summary."""
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from backend.children.models import Child
from backend.extensions import db
from backend.i18n import reading_locale
from backend.trends import thresholds as t
from backend.trends.engine import CurvePoint, ModelFit, RecentChange, Verdict, WeekStats
from backend.trends.facts import ChildFacts, child_facts, episode_facts, sleep_facts
from backend.trends.models import ChildSummary, ChildSummaryReport
from backend.trends.red_flags import RedFlag
from backend.trends.report import ReferencePoint, TrendReport, build_report
from backend.trends.treatments import treatments_from_json


def child_report(child: Child, now: datetime, weeks: int = t.DEFAULT_WEEKS, axis: str | None = None) -> TrendReport:
    return build_report(child_facts(child), episode_facts([child.id])[child.id], sleep_facts([child.id])[child.id],
                        now, weeks=weeks, axis=axis)


def todays_report(child: Child, now: datetime) -> TrendReport:
    """The default report in the current locale: the one kept with the child's summary when it is fresh for today,
    else built."""
    kept = kept_report_json(child, now)
    if kept is not None:
        return report_from_json(child_facts(child, with_eeg=False), kept)  # flags are in the JSON
    return child_report(child, now)


# Core, built once: the trends view's fast path runs it on every default request
KEPT_REPORT = select(ChildSummaryReport.report_json).join(
    ChildSummary, ChildSummary.child_id == ChildSummaryReport.child_id).where(
    ChildSummaryReport.child_id == bindparam("child_id"), ChildSummaryReport.locale == bindparam("locale"),
    ChildSummary.report_day == bindparam("today"), ChildSummary.stale.is_(False))


def kept_report_json(child: Child, now: datetime) -> str | None:
    """Today's default trends response as kept with the child's summary, in the current locale; None when the
    summary is stale, from another day, or not kept in this language."""
    today = now.astimezone(ZoneInfo(child.timezone)).date()
    return db.session.scalar(KEPT_REPORT, {"child_id": child.id, "locale": str(reading_locale()), "today": today})


def report_from_json(child: ChildFacts, text: str) -> TrendReport:
    """The inverse of `trends_schema.dumps` (the default trends response kept with a summary): its words are the
    plain strings of the locale it was dumped in."""
    data = json.loads(text)
    return TrendReport(
        child=child, axis=data["age_axis"], generated_at=datetime.fromisoformat(data["generated_at"]),
        age_weeks_now=data["age_weeks_now"], corrected_age_weeks_now=data["corrected_age_weeks_now"],
        weekly=[WeekStats(**{**week, "start": date.fromisoformat(week["start"])}) for week in data["weekly"]],
        model=_model(data["model"]), verdict=Verdict(data["verdict"], data["verdict_reasons"]),
        red_flags=[RedFlag(**{**flag, "since": datetime.fromisoformat(flag["since"])}) for flag in data["red_flags"]],
        reference_points=[ReferencePoint(**point) for point in data["reference_points"]],
        summary=data["summary"], totals=data["totals"],
        treatments=treatments_from_json(data.get("treatments", [])))  # a report kept before treatments has none


def _model(data: dict | None) -> ModelFit | None:
    if data is None:
        return None
    recent = RecentChange(**data["recent"]) if data["recent"] is not None else None
    return ModelFit(**{**data, "recent": recent, "curve": [CurvePoint(**point) for point in data["curve"]]})
