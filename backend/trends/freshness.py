"""Keep child_summaries fresh: a write marks its children's summaries stale, readers rebuild them.

Writes through the ORM (REST) are noticed on flush; the sync push names its children with
`touch()`. Just before the commit the touched children's summaries are marked stale, in the same
transaction (cheap: the write path stays fast). Whoever reads a summary first (a patient list, a
trends request, the scheduler's next dispatch, which also refreshes every stale summary once a
minute) rebuilds only the stale ones, so a list never refits all models and a summary never
disagrees with the diary it summarises.

Every child has its summary row from the transaction that creates it on: the first write inserts a stale
placeholder (what a new child's summary says: insufficient data) where none is, so the scheduler's pass finds
the stale ones through a partial index (ix_child_summaries_stale) instead of looking at every child for a
missing one: its cost follows the work due, not the number of children (issue 23, the cost curve).

With the summary, the default trends response is kept once per language (child_summary_reports):
built once, dumped in each locale, so every reader's fast path is one indexed read.
"""
import json
from functools import cache
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from sqlalchemy import bindparam, event, literal, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from backend.children.models import Child
from backend.clinic.models import ClinicianNote
from backend.database import dialect_insert_for_name, upsert, writing_transactions
from backend.db_types import UTCDateTime, utcnow
from backend.diary.models import DevelopmentCheck, Episode, SleepSession, Treatment
from backend.i18n import locales
from backend.trends import thresholds as t
from backend.trends.engine import pooled_rate
from backend.trends.facts import child_facts, episode_facts, sleep_facts, treatment_facts
from backend.trends.models import STALE, ChildSummary, ChildSummaryReport
from backend.trends.report import TrendReport, build_report
from backend.trends.schemas import trends_schema

_TOUCHED = "myodiary.touched_children"


@cache
def _mark_stale_statement(dialect: str):
    """Core, built once per database kind: every write runs it, and no loaded summary needs updating. A child
    with no summary yet gets its stale placeholder, events_checked (nothing to compare until it is built)."""
    table = ChildSummary.__table__
    placeholders = select(Child.id, literal("insufficient_data"), literal("[]"), literal(0), literal(0),
                          bindparam("now", type_=UTCDateTime()), true(), true()).where(
        Child.id.in_(bindparam("ids", expanding=True)))
    statement = dialect_insert_for_name(dialect, table).from_select(
        ["child_id", "verdict", "red_flag_codes", "watched_nights_recent", "episodes_total", "computed_at", "stale",
         "events_checked"], placeholders)
    return statement.on_conflict_do_update(index_elements=["child_id"], set_={"stale": True})


def mark_stale(connection: Connection, child_ids) -> None:
    """Mark these children's summaries stale, in the caller's transaction."""
    connection.execute(_mark_stale_statement(connection.dialect.name), {"ids": sorted(child_ids), "now": utcnow()})


def touch(session: Session, child_ids) -> None:
    session.info.setdefault(_TOUCHED, set()).update(child_ids)


def _notice_writes(session: Session, flush_context) -> None:
    """after_flush: ids are assigned, and new/dirty still list what the flush wrote."""
    for obj in [*session.new, *session.dirty]:
        if isinstance(obj, Episode | SleepSession):
            touch(session, [obj.child_id])
        elif isinstance(obj, Child):
            touch(session, [obj.id])
        elif isinstance(obj, ClinicianNote | DevelopmentCheck | Treatment):  # red flags; treatments on the report
            touch(session, [obj.child_id])


def _mark_stale_before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: notice its writes now
    if session.info.get(_TOUCHED):
        mark_stale(session.connection(), session.info.pop(_TOUCHED))


def stale_among(session: Session, child_ids: list[str]) -> list[str]:
    """The children whose summary is missing or stale."""
    fresh = set(session.scalars(select(ChildSummary.child_id).where(
        ChildSummary.child_id.in_(child_ids), ChildSummary.stale.is_(False))))
    return [child_id for child_id in child_ids if child_id not in fresh]


def ensure_fresh(session: Session, child_ids: list[str]) -> None:
    """Rebuild what is stale among these children, in a write transaction of its own."""
    stale = stale_among(session, child_ids)
    if not stale:
        return
    session.commit()
    with writing_transactions():
        refresh(session, stale)
        session.commit()


def refresh_all_stale(session: Session, batch: int = 100) -> int:
    """For the scheduler: rebuild every stale summary, a batch per transaction (through the partial index on
    `stale`: a deleted child's stale summary waits for its purge, a few rows skipped)."""
    done = 0
    needing = select(ChildSummary.child_id).join(Child, Child.id == ChildSummary.child_id).where(
        STALE, Child.deleted_at.is_(None))
    while ids := session.scalars(needing.limit(batch)).all():
        refresh(session, list(ids))
        session.commit()
        done += len(ids)
    return done


def _forget(session: Session, *args) -> None:
    session.info.pop(_TOUCHED, None)


def refresh(session: Session, child_ids: list[str]) -> None:
    """Rebuild the summaries of these children from their diaries."""
    children = session.scalars(select(Child).where(Child.id.in_(child_ids), Child.deleted_at.is_(None))).all()
    ids = [c.id for c in children]
    episodes, sleeps, treatments = episode_facts(ids), sleep_facts(ids), treatment_facts(ids)
    now, rows, reports = utcnow(), [], []
    for child in children:
        report = build_report(child_facts(child, treatments=treatments[child.id]), episodes[child.id], sleeps[child.id],
                              now)
        last = episodes[child.id][-1].started_at if episodes[child.id] else None
        rows.append(summary_row(report, last))
        reports.extend(report_rows(report))
    upsert(session, ChildSummary, rows)  # not merge: another worker may be inserting the same summary
    upsert(session, ChildSummaryReport, reports)
    for child in children:
        session.expire(child, ["summary"])


def summary_row(report: TrendReport, last_logged_at) -> dict:
    """A child_summaries row: the last two weeks of age (the current one included) against the two before."""
    k = t.LIST_WINDOW_WEEKS
    recent, previous = report.weekly[-k:], report.weekly[-2 * k:-k]
    return {
        "child_id": report.child.id, "verdict": report.verdict.code,
        "report_day": report.generated_at.astimezone(ZoneInfo(report.child.timezone)).date(),
        "red_flag_codes": json.dumps([flag.code for flag in report.red_flags]),
        "rate_recent": _rate(recent), "rate_previous": _rate(previous),
        "watched_nights_recent": sum(w.watched_nights for w in recent), "episodes_total": report.totals["episodes"],
        "last_logged_at": last_logged_at, "computed_at": report.generated_at, "stale": False,
        "events_checked": False}  # the dispatcher's next pass compares it with what the emails know


def report_rows(report: TrendReport) -> list[dict]:
    """child_summary_reports rows: the default trends response dumped in each of the app's languages."""
    rows = []
    for locale in locales():
        with force_locale(locale):
            rows.append({"child_id": report.child.id, "locale": locale, "report_json": trends_schema.dumps(report)})
    return rows


def _rate(weeks) -> float | None:
    rate, _ = pooled_rate(weeks)
    return None if rate is None else round(rate, 3)


def install_listeners() -> None:
    for name, listener in (("after_flush", _notice_writes), ("before_commit", _mark_stale_before_commit),
                           ("after_rollback", _forget)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
