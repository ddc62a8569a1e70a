"""Reminders that do not wait for the cadence: follow-up prompts by age, worsening, new red flags."""
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select

from backend.children.ages import prematurity_days
from backend.children.models import Child
from backend.extensions import db
from backend.reminders import recipients
from backend.reminders.models import Reminder, ReminderSchedule
from backend.reminders.outbox import pending_row, queue
from backend.reminders.schedules import period_key
from backend.trends.models import ChildSummary

# BNSM follow-ups at 3 and 6 months of corrected age (CLINICAL.md: 64% / 95% resolved by then),
# each within its window only, and once.
FOLLOW_UPS = (("follow_up_3m", 13, 26), ("follow_up_6m", 26, 52))


def corrected_weeks(child: Child, instant: datetime) -> float:
    day = instant.astimezone(ZoneInfo(child.timezone)).date()
    return ((day - child.birth_date).days - prematurity_days(child.gestational_weeks)) / 7


def slot_kind(child: Child, schedule: ReminderSchedule, due: datetime) -> tuple[str, str]:
    """A slot's email is the follow-up prompt when the child has just reached 3 or 6 months."""
    if child.condition == "bnsm":
        age = corrected_weeks(child, due)
        for kind, start, end in FOLLOW_UPS:
            if start <= age < end and not _sent_before(child.id, kind):
                return kind, kind
    return "scheduled", period_key(due, schedule.timezone)


def _sent_before(child_id: str, kind: str) -> bool:
    return db.session.scalar(select(exists().where(Reminder.child_id == child_id, Reminder.kind == kind)))


def plan_events(now: datetime, commit_every: int) -> int:
    """Prompts at this dispatch for children whose verdict turned worsening or who got a new red flag."""
    planned = 0
    rows = db.session.execute(select(ReminderSchedule, ChildSummary).join(
        ChildSummary, ChildSummary.child_id == ReminderSchedule.child_id).where(
        ReminderSchedule.enabled.is_(True))).all()
    for index, (schedule, summary) in enumerate(rows, start=1):
        prompts = _new_events(schedule, summary)
        if prompts:
            planned += queue([pending_row(schedule.child_id, user.id, kind, key, now, now)
                              for user in recipients.effective(schedule) for kind, key in prompts])
        remember(schedule, summary)
        if index % commit_every == 0:
            db.session.commit()
    return planned


def _new_events(schedule: ReminderSchedule, summary: ChildSummary) -> list[tuple[str, str]]:
    prompts = []
    if summary.verdict == "worsening" and schedule.known_verdict != "worsening":
        prompts.append(("worsening", f"worsening:{summary.computed_at.date().isoformat()}"))
    known = set(json.loads(schedule.known_red_flags or "[]"))
    new = sorted(code for code in json.loads(summary.red_flag_codes) if code not in known and code != "worsening")
    if new:  # one email for all the flags that are new at this dispatch, not one each
        prompts.append(("red_flag", "red_flag:" + ",".join(new)))
    return prompts


def remember(schedule: ReminderSchedule, summary: ChildSummary | None) -> None:
    """What the child's emails now know: no prompt again for the same verdict or flag."""
    if summary is None:
        return
    if schedule.known_verdict != summary.verdict:
        schedule.known_verdict = summary.verdict
    codes = json.dumps(sorted(json.loads(summary.red_flag_codes)))
    if schedule.known_red_flags != codes:
        schedule.known_red_flags = codes
