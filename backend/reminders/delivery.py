"""Render a claimed reminder, and once the mail server has answered mark it sent, retrying (with backoff) or failed."""
import logging
import smtplib
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from backend.accounts.models import User
from backend.care_teams.models import Membership
from backend.children.models import Child
from backend.extensions import db
from backend.i18n import offered
from backend.mail.headers import mailbox, sender_mailbox
from backend.mail.transport import BACKOFF, MAX_ATTEMPTS, Envelope
from backend.reminders.content import Recipient, ReminderContext, render_reminder
from backend.reminders.message import build_message
from backend.reminders.models import Reminder, ReminderOptOut, ReminderSchedule
from backend.reminders.tokens import unsubscribe_url
from backend.trends.charts import chart_alt_text
from backend.trends.loading import todays_report

log = logging.getLogger(__name__)


@dataclass
class ReminderFacts:
    """What claimed reminders need (children, roles, opt-outs, schedules, users), read in five queries instead of
    several per reminder."""

    children: dict[str, Child]
    roles: dict[tuple[str, str], str]  # (child id, user id) -> role of an active member
    opted_out: set[tuple[str, str]]
    schedules: dict[str, ReminderSchedule]
    users: dict[str, User]

    @classmethod
    def load(cls, reminders: list[Reminder]) -> "ReminderFacts":
        child_ids = sorted({reminder.child_id for reminder in reminders})
        user_ids = sorted({reminder.user_id for reminder in reminders})
        fresh = {"populate_existing": True}
        children = db.session.scalars(select(Child).where(Child.id.in_(child_ids)).execution_options(**fresh))
        roles = db.session.execute(select(Membership.child_id, Membership.user_id, Membership.role).where(
            Membership.child_id.in_(child_ids), Membership.revoked_at.is_(None)))
        opted_out = db.session.execute(select(ReminderOptOut.child_id, ReminderOptOut.user_id).where(
            ReminderOptOut.child_id.in_(child_ids)))
        schedules = db.session.scalars(select(ReminderSchedule).where(
            ReminderSchedule.child_id.in_(child_ids)).execution_options(**fresh))
        users = db.session.scalars(select(User).where(User.id.in_(user_ids)).execution_options(**fresh))
        return cls({child.id: child for child in children}, {(c, u): role for c, u, role in roles},
                   {(c, u) for c, u in opted_out}, {schedule.child_id: schedule for schedule in schedules},
                   {user.id: user for user in users})

    def skip_reason(self, reminder: Reminder) -> tuple[str | None, str | None]:
        """Why this reminder should not go any more, and the recipient's role if it should."""
        child = self.children.get(reminder.child_id)
        if child is None or child.deleted_at is not None:
            return "the child was deleted", None
        role = self.roles.get((child.id, reminder.user_id))
        if role is None:
            return "the recipient left the care team", None
        if (child.id, reminder.user_id) in self.opted_out:
            return "the recipient unsubscribed", None
        schedule = self.schedules.get(child.id)
        if schedule is None or not schedule.enabled:
            return "reminders were turned off", None
        return None, role


def email_chart_png(report) -> bytes:
    """The email's chart; Pillow and numpy are imported on the first one, never in a web worker that sends none."""
    from backend.trends.email_chart import email_chart_png as draw

    return draw(report)


class Renderer:
    """One report and one chart per child, language and pass, whatever the number of recipients."""

    def __init__(self, now: datetime):
        self.now, self.cache = now, {}
        self.sender = sender_mailbox(current_app.config["MAIL_SENDER"])

    def child_material(self, child: Child, locale: str):
        """The report, the chart and its description in `locale`: co-parents may read two languages."""
        if (child.id, locale) not in self.cache:
            with force_locale(locale):
                report = todays_report(child, self.now)
                self.cache[child.id, locale] = (report, email_chart_png(report), str(chart_alt_text(report)))
        return self.cache[child.id, locale]

    def message(self, reminder: Reminder, child: Child, user: User, role: str, schedule: ReminderSchedule):
        locale = language_of(user)
        report, png, alt = self.child_material(child, locale)
        link = unsubscribe_url(child.id, user.id)
        context = ReminderContext(
            kind=reminder.kind, cadence=schedule.cadence,
            schedule=(schedule.weekday, schedule.local_time, schedule.timezone),
            recipient=Recipient(user.id, user.name, user.email, "clinician" if role == "clinician" else "caregiver",
                                locale),
            report=report, chart_png=png, chart_alt=alt, app_url=current_app.config["APP_URL"].rstrip("/"),
            unsubscribe_url=link, new_red_flags=_new_flags(reminder),
            development_prompt=bool(reminder.development_prompt))
        rendered = render_reminder(context)
        message = build_message(rendered, png, self.sender, mailbox(user.name, user.email), link,
                                message_id=f"<{reminder.id}@myodiary.example>")
        return rendered, message

    def envelope(self, message, user: User) -> Envelope:
        """To the user's stored address alone: recipients never come from parsing a header."""
        return Envelope.of(message, self.sender.addr_spec, (user.email,))


def language_of(user: User) -> str:
    """The language the user's emails are written in: their account's, else English (a language no longer offered)."""
    return offered(user.locale)


def _new_flags(reminder: Reminder) -> tuple[str, ...]:
    return tuple(reminder.period_key.split(":", 1)[1].split(",")) if reminder.kind == "red_flag" else ()


@dataclass
class Outgoing:
    """A rendered reminder on its way: marked sent once the mail server has taken it."""

    reminder: Reminder
    subject: str
    envelope: Envelope


def prepare(reminder: Reminder, facts: ReminderFacts, renderer: Renderer,
            now: datetime) -> tuple[str, Outgoing | None]:
    """Render a claimed reminder; or mark it skipped when it should not go any more, or to retry later when it
    cannot be rendered: whatever one family's data does to its email, the other claimed reminders go out."""
    reason, role = facts.skip_reason(reminder)
    if reason:
        reminder.status, reminder.last_error = "skipped", reason
        return "skipped", None
    user = facts.users[reminder.user_id]
    try:
        rendered, message = renderer.message(reminder, facts.children[reminder.child_id], user, role,
                                             facts.schedules[reminder.child_id])
        return "sending", Outgoing(reminder, rendered.subject, renderer.envelope(message, user))
    except Exception as error:  # noqa: BLE001 - a fault in one email stays with that email
        return _failed_alone(reminder, now, error, "rendered"), None


def settle(outgoing: Outgoing, sending: Future, now: datetime) -> str:
    """Wait for the mail server's answer: sent, or retried later with backoff, or failed for good."""
    reminder = outgoing.reminder
    try:
        reminder.delivered_to = sending.result()
    except (smtplib.SMTPException, OSError) as error:
        return _retry_later(reminder, now, f"{type(error).__name__}: {error}")
    except Exception as error:  # noqa: BLE001 - e.g. a mailer bug on one message: the others still go
        return _failed_alone(reminder, now, error, "sent")
    reminder.status, reminder.sent_at, reminder.subject = "sent", now, outgoing.subject
    reminder.attempts += 1
    return "sent"


def _failed_alone(reminder: Reminder, now: datetime, error: Exception, step: str) -> str:
    """An unexpected fault in one reminder: logged with its traceback, recorded on the row, retried on schedule."""
    log.exception("reminder %s could not be %s", reminder.id, step)
    if isinstance(error, SQLAlchemyError):
        db.session.rollback()  # the transaction is unusable; what was committed before stays
    return _retry_later(reminder, now, f"{type(error).__name__}: {error}")


def _retry_later(reminder: Reminder, now: datetime, error: str) -> str:
    reminder.attempts += 1
    reminder.last_error = error[:500]
    log.warning("reminder %s not sent (attempt %d): %s", reminder.id, reminder.attempts, error)
    if reminder.attempts >= MAX_ATTEMPTS:
        reminder.status = "failed"
        return "failed"
    reminder.status, reminder.next_attempt_at = "pending", now + BACKOFF[reminder.attempts - 1]
    return "retrying"
