"""Keep child_summaries fresh: every transaction that changes a child's diary refreshes its row.

Writes through the ORM (REST) are noticed on flush; the sync push names its children with
`touch()`. Just before the commit the touched children's reports are rebuilt, in the same
transaction, so a summary never disagrees with the diary it summarises.
"""
import json
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from backend.children.models import Child
from backend.db_types import utcnow
from backend.diary.models import Episode, SleepSession
from backend.trends import thresholds as t
from backend.trends.facts import child_facts, episode_facts, sleep_facts
from backend.trends.models import ChildSummary
from backend.trends.report import TrendReport, build_report
from backend.trends.schemas import trends_schema

_TOUCHED = "myodiary.touched_children"


def touch(session: Session, child_ids) -> None:
    session.info.setdefault(_TOUCHED, set()).update(child_ids)


def _notice_writes(session: Session, flush_context) -> None:
    """after_flush: ids are assigned, and new/dirty still list what the flush wrote."""
    for obj in [*session.new, *session.dirty]:
        if isinstance(obj, Episode | SleepSession):
            touch(session, [obj.child_id])
        elif isinstance(obj, Child):
            touch(session, [obj.id])


def _refresh_before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: notice its writes now
    if session.info.get(_TOUCHED):
        refresh(session, sorted(session.info.pop(_TOUCHED)))


def _forget(session: Session, *args) -> None:
    session.info.pop(_TOUCHED, None)


def refresh(session: Session, child_ids: list[str]) -> None:
    """Rebuild the summaries of these children from their diaries."""
    children = session.scalars(select(Child).where(Child.id.in_(child_ids), Child.deleted_at.is_(None))).all()
    episodes, sleeps = episode_facts([c.id for c in children]), sleep_facts([c.id for c in children])
    now = utcnow()
    for child in children:
        report = build_report(child_facts(child), episodes[child.id], sleeps[child.id], now)
        last = episodes[child.id][-1].started_at if episodes[child.id] else None
        session.merge(summary_row(report, last))


def summary_row(report: TrendReport, last_logged_at) -> ChildSummary:
    """The last two weeks of age (the current one included) against the two before."""
    k = t.LIST_WINDOW_WEEKS
    recent, previous = report.weekly[-k:], report.weekly[-2 * k:-k]
    return ChildSummary(
        child_id=report.child.id, verdict=report.verdict.code,
        report_day=report.generated_at.astimezone(ZoneInfo(report.child.timezone)).date(),
        report_json=trends_schema.dumps(report),
        red_flag_codes=json.dumps([flag.code for flag in report.red_flags]),
        rate_recent=_rate(recent), rate_previous=_rate(previous),
        watched_nights_recent=sum(w.watched_nights for w in recent), episodes_total=report.totals["episodes"],
        last_logged_at=last_logged_at, computed_at=report.generated_at)


def _rate(weeks) -> float | None:
    nights = sum(w.watched_nights for w in weeks)
    return round(sum(w.episodes for w in weeks) / nights, 3) if nights else None


def install_listeners() -> None:
    for name, listener in (("after_flush", _notice_writes), ("before_commit", _refresh_before_commit),
                           ("after_rollback", _forget)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
