"""Diary entries: jerk episodes and sleep sessions, treatments and development checks, with tombstones
for deletes."""
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db
from backend.versioning import Versioned, created_late_index


class ChildRecord(Versioned):
    """Columns shared by every table of one child's records that caregivers write."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    notes: Mapped[str | None] = mapped_column(Text)
    logged_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    DATES: tuple[str, ...] = ()  # its calendar dates: not in the future, not before the birth date


class DiaryEntry(ChildRecord):
    """A diary table of instants: episodes and sleep sessions."""

    started_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Episode(DiaryEntry, db.Model):
    """A run of jerks as a caregiver saw it. Word lists are kept as the phone's JSON text."""

    __tablename__ = "episodes"
    __table_args__ = (Index("ix_episodes_child_started", "child_id", "started_at"),
                      Index("ix_episodes_child_version", "child_id", "version"),
                      created_late_index("episodes"))

    duration_seconds: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    sleep_state: Mapped[str] = mapped_column(String(16))
    stopped_when_woken: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(16))
    body_parts: Mapped[str] = mapped_column(Text, default="[]")
    signs: Mapped[str] = mapped_column(Text, default="[]")
    triggers: Mapped[str] = mapped_column(Text, default="[]")
    jerk_count: Mapped[int | None] = mapped_column(Integer)
    video_ref: Mapped[str | None] = mapped_column(String(500))


class SleepSession(DiaryEntry, db.Model):
    """A night or nap; `watched` sleep is the exposure the trends divide by."""

    __tablename__ = "sleep_sessions"
    __table_args__ = (Index("ix_sleep_sessions_child_started", "child_id", "started_at"),
                      Index("ix_sleep_sessions_child_version", "child_id", "version"),
                      created_late_index("sleep_sessions"))

    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(8))
    watched: Mapped[bool] = mapped_column(Boolean)


class Treatment(ChildRecord, db.Model):
    """What the child was given, and when (schema version 2): a medicine or a non-drug measure."""

    __tablename__ = "treatments"
    __table_args__ = (Index("ix_treatments_child_started", "child_id", "started_on"),
                      Index("ix_treatments_child_version", "child_id", "version"),
                      created_late_index("treatments"))
    DATES = ("started_on", "stopped_on")

    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    dose: Mapped[str | None] = mapped_column(String(120))
    started_on: Mapped[date] = mapped_column(Date)
    stopped_on: Mapped[date | None] = mapped_column(Date)  # None while ongoing


class DevelopmentCheck(ChildRecord, db.Model):
    """A caregiver's short check of development (schema version 2). `concerns` is the phone's JSON text."""

    __tablename__ = "development_checks"
    __table_args__ = (Index("ix_development_checks_child_checked", "child_id", "checked_on"),
                      Index("ix_development_checks_child_version", "child_id", "version"),
                      created_late_index("development_checks"))
    DATES = ("checked_on",)

    checked_on: Mapped[date] = mapped_column(Date)
    new_skills: Mapped[str] = mapped_column(String(8))
    lost_skills: Mapped[str] = mapped_column(String(8))
    concerns: Mapped[str] = mapped_column(Text, default="[]")
