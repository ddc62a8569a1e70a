"""One dispatch pass: plan what is due into the outbox, claim, render, send, mark.

Safe with several dispatchers at once: a schedule's slot is taken by a conditional UPDATE of its
next_due_at, outbox rows are unique per child, recipient, kind and period (a second insert does
nothing), and rows are claimed by an UPDATE of rows picked FOR UPDATE SKIP LOCKED (PostgreSQL;
SQLite has one writer at a time), so no reminder is sent twice.
"""
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from backend.children.models import Child
from backend.database import kept_after_commit, upsert, writing_transactions
from backend.db_types import utcnow
from backend.extensions import db
from backend.mail.transport import Courier, mailer_for
from backend.observability.events import count as count_event
from backend.reminders import events, recipients
from backend.reminders.delivery import ReminderFacts, Renderer, prepare, settle
from backend.reminders.models import Reminder, ReminderSchedule, SchedulerHeartbeat
from backend.reminders.outbox import pending_row, queue
from backend.reminders.schedules import next_slot
from backend.trends.freshness import refresh_all_stale

log = logging.getLogger(__name__)
SENDING_TIMEOUT = timedelta(minutes=10)  # a claim older than this died with its dispatcher
PLAN_CHUNK = 100


@dataclass
class DispatchResult:
    planned: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        count_event("reminders", outcome)  # /metrics


def dispatch(now: datetime | None = None, worker: str | None = None) -> DispatchResult:
    # Claimed rows, read once, stay usable across their per-reminder commits (no reload per reminder).
    with writing_transactions(), kept_after_commit(db.session()):
        return _dispatch(now or utcnow(), worker)


def _dispatch(now: datetime, worker: str | None) -> DispatchResult:
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    refresh_all_stale(db.session)  # events read the summaries; keeps lists fast between reads too
    result = DispatchResult(planned=plan(now))
    db.session.commit()
    renderer, started = Renderer(now), time.monotonic()
    with mailer_for(current_app.config) as mailer, Courier(mailer) as courier:
        # A claim is stamped with the time it is made, not the pass's start: on a long pass, reminders
        # claimed late must not look abandoned to another dispatcher (SENDING_TIMEOUT) while they are sent.
        while claimed := claim(now + timedelta(seconds=time.monotonic() - started), worker,
                               current_app.config["REMINDER_BATCH"]):
            send_claimed(claimed, renderer, courier, result, now)
    beat(now, worker)
    db.session.commit()
    return result


def send_claimed(claimed: list[Reminder], renderer: Renderer, courier: Courier, result: DispatchResult,
                 now: datetime) -> None:
    """Render each reminder while the one before is with the mail server; mark each once answered.

    Short transactions: the reads end before any wait on the mail server (on SQLite no lock waits on
    a slow server), and each reminder is marked in a commit of its own, right after the server's answer.
    """
    facts, in_flight = ReminderFacts.load(claimed), None
    try:
        for reminder in claimed:
            outcome, outgoing = prepare(reminder, facts, renderer, now)
            db.session.commit()
            if outgoing is None:
                result.count(outcome)  # skipped, or to retry alone when it could not be rendered
                continue
            previous, in_flight = in_flight, None
            _settle(previous, result, now)
            in_flight = outgoing, courier.send(outgoing.envelope, reminder.id)
    finally:  # even when a later rendering fails, what the server took is marked sent
        _settle(in_flight, result, now)


def _settle(in_flight, result: DispatchResult, now: datetime) -> None:
    if in_flight:
        result.count(settle(*in_flight, now))
        db.session.commit()


# ---- planning ------------------------------------------------------------------------------------

def plan(now: datetime) -> int:
    """Queue what is due, a chunk of schedules per transaction: on SQLite the web's writes wait at most one chunk."""
    due = list(db.session.scalars(select(ReminderSchedule).where(
        ReminderSchedule.enabled.is_(True), ReminderSchedule.next_due_at <= now)))
    planned = 0
    for start in range(0, len(due), PLAN_CHUNK):
        chunk = due[start:start + PLAN_CHUNK]
        audiences = recipients.effective_for(chunk)
        children = {child.id: child for child in db.session.scalars(
            select(Child).where(Child.id.in_([schedule.child_id for schedule in chunk])))}
        asking = events.development_prompts(chunk, children)
        planned += queue([row for schedule in chunk
                          for row in _plan_slot(schedule, children, audiences[schedule.child_id], now, asking)])
        db.session.commit()
    return planned + events.plan_events(now, commit_every=PLAN_CHUNK)


def _plan_slot(schedule: ReminderSchedule, children: dict[str, Child], audience: list, now: datetime,
               asking: set[str]) -> list[dict]:
    """Take the slot (a missed run of slots counts once): a reminder per recipient, to queue; asking for a
    development check when the child is in `asking` (recorded on the rows, committed with the slot)."""
    due = schedule.next_due_at
    following = next_slot(schedule.cadence, schedule.weekday, schedule.local_time, schedule.timezone,
                          schedule.anchor, now)
    taken = db.session.execute(update(ReminderSchedule).where(
        ReminderSchedule.child_id == schedule.child_id, ReminderSchedule.next_due_at == due).values(
        next_due_at=following), execution_options={"synchronize_session": False})
    if taken.rowcount != 1:
        return []  # another dispatcher took it
    kind, key = events.slot_kind(children[schedule.child_id], schedule, due)
    prompt = schedule.child_id in asking
    return [pending_row(schedule.child_id, user.id, kind, key, due, now, prompt) for user in audience]


# ---- claiming ------------------------------------------------------------------------------------

def _claimable(now: datetime):
    return or_(and_(Reminder.status == "pending", Reminder.next_attempt_at <= now),
               and_(Reminder.status == "sending", Reminder.claimed_at < now - SENDING_TIMEOUT))


def claim(now: datetime, worker: str, limit: int) -> list[Reminder]:
    """At most `limit` rows, picked and locked before the UPDATE: as its subquery, PostgreSQL rescanned the
    LIMIT for every row and the rows already claimed dropped out of each rescan, so one claim took every due row."""
    token = f"{worker}:{uuid.uuid4().hex[:8]}"
    picked = db.session.scalars(select(Reminder.id).where(_claimable(now)).order_by(Reminder.due_at).limit(
        limit).with_for_update(skip_locked=True)).all()
    claimed = list(db.session.scalars(
        update(Reminder).where(Reminder.id.in_(picked), _claimable(now)).values(
            status="sending", claimed_by=token, claimed_at=now).returning(Reminder),
        execution_options={"synchronize_session": False, "populate_existing": True}))
    db.session.commit()
    return sorted(claimed, key=lambda reminder: (reminder.due_at, reminder.id))


def beat(now: datetime, worker: str) -> None:
    # An upsert, not merge: two dispatchers beating at once would both INSERT the missing row.
    upsert(db.session, SchedulerHeartbeat, [{"name": "scheduler", "beat_at": now, "details": worker}])
