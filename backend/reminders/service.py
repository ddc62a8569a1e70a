"""Reading and changing a child's reminder schedule, and what its next email would say."""
import json
from datetime import date

from flask_babel import gettext as _
from flask_smorest import abort

from backend.children.models import Child
from backend.db_types import utcnow
from backend.extensions import db
from backend.reminders import recipients
from backend.reminders.events import development_prompts, remember, slot_kind
from backend.reminders.models import Reminder, ReminderOptOut, ReminderSchedule
from backend.reminders.schedules import next_slot


def schedule_of(child: Child) -> ReminderSchedule:
    """The child's schedule, or the default (not yet stored, off) when there is none."""
    found = db.session.get(ReminderSchedule, child.id)
    return found or ReminderSchedule(child_id=child.id, cadence="weekly", weekday="sunday", local_time="19:00",
                                     timezone=child.timezone, enabled=False, recipients=None,
                                     anchor=date.today(), known_red_flags="[]")


def describe(schedule: ReminderSchedule) -> dict:
    members = recipients.team(schedule.child_id)
    out = recipients.opted_out(schedule.child_id)
    chosen = recipients.chosen(schedule, members)
    return {"cadence": schedule.cadence, "weekday": schedule.weekday, "local_time": schedule.local_time,
            "timezone": schedule.timezone, "enabled": schedule.enabled,
            "recipients": None if schedule.recipients is None else json.loads(schedule.recipients),
            "next_due_at": schedule.next_due_at if schedule.enabled else None,
            "effective_recipients": [{"user_id": uid, "name": members[uid][0].name, "role": members[uid][1],
                                      "opted_out": uid in out} for uid in chosen]}


def save_schedule(child: Child, values: dict) -> ReminderSchedule:
    members = recipients.team(child.id)
    unknown = [uid for uid in values.get("recipients") or [] if uid not in members]
    if unknown:
        abort(422, errors={"recipients": [_("Not in the child's care team: %(ids)s.", ids=", ".join(unknown))]})
    schedule = db.session.get(ReminderSchedule, child.id)
    if schedule is None:
        schedule = ReminderSchedule(child_id=child.id, anchor=utcnow().date(), known_red_flags="[]")
        db.session.add(schedule)
    _apply(schedule, child, values)
    if schedule.enabled and schedule.known_verdict is None:
        remember(schedule, child.summary)  # what is known when reminders start: no instant prompt for old flags
    return schedule


def _apply(schedule: ReminderSchedule, child: Child, values: dict) -> None:
    schedule.cadence, schedule.weekday = values["cadence"], values["weekday"]
    schedule.local_time, schedule.enabled = values["local_time"], values["enabled"]
    schedule.timezone = values.get("timezone") or child.timezone
    schedule.recipients = None if values.get("recipients") is None else json.dumps(values["recipients"])
    schedule.next_due_at = next_slot(schedule.cadence, schedule.weekday, schedule.local_time, schedule.timezone,
                                     schedule.anchor, utcnow()) if schedule.enabled else None


def set_opt_out(child_id: str, user_id: str, out: bool) -> None:
    existing = db.session.get(ReminderOptOut, (child_id, user_id))
    if out and existing is None:
        db.session.add(ReminderOptOut(child_id=child_id, user_id=user_id))
    elif not out and existing is not None:
        db.session.delete(existing)


def preview_kind(schedule: ReminderSchedule) -> str:
    if schedule.next_due_at is None:
        return "scheduled"
    return slot_kind(db.session.get(Child, schedule.child_id), schedule, schedule.next_due_at)[0]


def preview_reminder(child: Child, schedule: ReminderSchedule, user_id: str, kind: str) -> Reminder:
    """An unsaved outbox row, to render the next email exactly as it would go out (asking for a development check
    when that slot will)."""
    now = utcnow()
    asking = schedule.enabled and child.id in development_prompts([schedule], {child.id: child})
    return Reminder(id="preview", child_id=child.id, user_id=user_id, kind=kind, period_key="preview", due_at=now,
                    status="pending", attempts=0, next_attempt_at=now, development_prompt=asking)
