"""Diary entries: jerk episodes and sleep sessions, with tombstones for deletes."""
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db
from backend.versioning import Versioned


class DiaryEntry(Versioned):
    """Columns shared by every diary table."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(Text)
    logged_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Episode(DiaryEntry, db.Model):
    """A run of jerks as a caregiver saw it. Word lists are kept as the phone's JSON text."""

    __tablename__ = "episodes"
    __table_args__ = (Index("ix_episodes_child_started", "child_id", "started_at"),
                      Index("ix_episodes_child_version", "child_id", "version"))

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
                      Index("ix_sleep_sessions_child_version", "child_id", "version"))

    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(8))
    watched: Mapped[bool] = mapped_column(Boolean)
