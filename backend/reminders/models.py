"""Reminder schedules, opt-outs, the outbox of reminders, and the scheduler's heartbeat."""
from datetime import date, datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, new_id, utcnow
from backend.extensions import db

CADENCES = ("weekly", "biweekly", "monthly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KINDS = ("scheduled", "follow_up_3m", "follow_up_6m", "worsening", "red_flag")
STATUSES = ("pending", "sending", "sent", "failed", "skipped")


class ReminderSchedule(db.Model):
    """When a child's follow-up emails go out; one per child."""

    __tablename__ = "reminder_schedules"

    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), primary_key=True)
    cadence: Mapped[str] = mapped_column(String(16), default="weekly")
    weekday: Mapped[str] = mapped_column(String(9), default="sunday")
    local_time: Mapped[str] = mapped_column(String(5), default="19:00")  # HH:MM in `timezone`
    timezone: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    recipients: Mapped[str | None] = mapped_column(Text)  # JSON list of user ids; null: every caregiver
    anchor: Mapped[date] = mapped_column()  # biweekly slots count from this local date
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # What the last emails knew, so that a worsening verdict or a new red flag prompts at once.
    known_verdict: Mapped[str | None] = mapped_column(String(32))
    known_red_flags: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReminderOptOut(db.Model):
    """A care-team member who does not want a child's reminders."""

    __tablename__ = "reminder_opt_outs"

    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reminder(db.Model):
    """The outbox: one row per child, recipient and period, so nothing goes out twice."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("child_id", "user_id", "kind", "period_key"),
                      Index("ix_reminders_status_next_attempt", "status", "next_attempt_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    period_key: Mapped[str] = mapped_column(String(200))  # the slot's local date, or the event's key
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subject: Mapped[str | None] = mapped_column(Text)
    # Asks for a development check (events.DEVELOPMENT_PROMPT_DAYS): kept with the row, so a retry asks again
    # and the next slots know it was asked.
    development_prompt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    delivered_to: Mapped[str | None] = mapped_column(Text)  # the SMTP server, or the .eml file written
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchedulerHeartbeat(db.Model):
    __tablename__ = "scheduler_heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[str | None] = mapped_column(Text)
