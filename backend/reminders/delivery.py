"""Render and send one claimed reminder, then mark it sent, retrying (with backoff), failed or skipped."""
import logging
import smtplib
from datetime import datetime, timedelta
from email.utils import formataddr

from flask import current_app
from sqlalchemy import select

from backend.accounts.models import Membership, User
from backend.children.models import Child
from backend.extensions import db
from backend.reminders.content import Recipient, ReminderContext, build_message, render_reminder
from backend.reminders.models import Reminder, ReminderOptOut, ReminderSchedule
from backend.reminders.tokens import unsubscribe_url
from backend.trends.charts import chart_alt_text, chart_png
from backend.trends.loading import child_report

log = logging.getLogger(__name__)
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
           timedelta(hours=3))
MAX_ATTEMPTS = len(BACKOFF) + 1


class Renderer:
    """One report and one chart per child and pass, whatever the number of recipients."""

    def __init__(self, now: datetime):
        self.now, self.cache = now, {}

    def child_material(self, child: Child):
        if child.id not in self.cache:
            report = child_report(child, self.now)
            self.cache[child.id] = (report, chart_png(report), chart_alt_text(report))
        return self.cache[child.id]

    def message(self, reminder: Reminder, child: Child, user: User, role: str):
        report, png, alt = self.child_material(child)
        schedule = db.session.get(ReminderSchedule, child.id)
        link = unsubscribe_url(child.id, user.id)
        context = ReminderContext(
            kind=reminder.kind, cadence=schedule.cadence if schedule else "weekly",
            recipient=Recipient(user.id, user.name, user.email, "clinician" if role == "clinician" else "caregiver"),
            report=report, chart_png=png, chart_alt=alt, app_url=current_app.config["APP_URL"].rstrip("/"),
            unsubscribe_url=link, new_red_flags=_new_flags(reminder))
        rendered = render_reminder(context)
        message = build_message(rendered, png, current_app.config["MAIL_SENDER"], formataddr((user.name, user.email)),
                                link, message_id=f"<{reminder.id}@myodiary.example>")
        return rendered, message


def _new_flags(reminder: Reminder) -> tuple[str, ...]:
    return tuple(reminder.period_key.split(":", 1)[1].split(",")) if reminder.kind == "red_flag" else ()


def _skip_reason(reminder: Reminder, child: Child | None) -> tuple[str | None, str | None]:
    """Why this reminder should not go any more, and the recipient's role if it should."""
    if child is None or child.deleted_at is not None:
        return "the child was deleted", None
    role = db.session.scalar(select(Membership.role).where(
        Membership.child_id == child.id, Membership.user_id == reminder.user_id, Membership.revoked_at.is_(None)))
    if role is None:
        return "the recipient left the care team", None
    if db.session.get(ReminderOptOut, (child.id, reminder.user_id)) is not None:
        return "the recipient unsubscribed", None
    schedule = db.session.get(ReminderSchedule, child.id)
    if schedule is None or not schedule.enabled:
        return "reminders were turned off", None
    return None, role


def deliver(reminder: Reminder, renderer: Renderer, mailer, now: datetime) -> str:
    child = db.session.get(Child, reminder.child_id)
    reason, role = _skip_reason(reminder, child)
    if reason:
        reminder.status, reminder.last_error = "skipped", reason
        return "skipped"
    try:
        rendered, message = renderer.message(reminder, child, db.session.get(User, reminder.user_id), role)
        reminder.delivered_to = mailer.send(message, reminder.id)
    except (smtplib.SMTPException, OSError) as error:
        return _retry_later(reminder, now, f"{type(error).__name__}: {error}")
    reminder.status, reminder.sent_at, reminder.subject = "sent", now, rendered.subject
    reminder.attempts += 1
    return "sent"


def _retry_later(reminder: Reminder, now: datetime, error: str) -> str:
    reminder.attempts += 1
    reminder.last_error = error[:500]
    log.warning("reminder %s not sent (attempt %d): %s", reminder.id, reminder.attempts, error)
    if reminder.attempts >= MAX_ATTEMPTS:
        reminder.status = "failed"
        return "failed"
    reminder.status, reminder.next_attempt_at = "pending", now + BACKOFF[reminder.attempts - 1]
    return "retrying"
