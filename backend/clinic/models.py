"""What clinicians add to a child's record (notes, with an EEG result) and who looked at it (the audit log)."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.accounts.models import User
from backend.db_types import UTCDateTime, new_id, utcnow
from backend.extensions import db

EEG_RESULTS = ("normal", "benign_variant", "abnormal", "not_done")


class ClinicianNote(db.Model):
    """A clinician's note on a child; an EEG result, when given, feeds the red flags."""

    __tablename__ = "clinician_notes"
    __table_args__ = (Index("ix_clinician_notes_child_created", "child_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    eeg: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    author: Mapped[User] = relationship(lazy="joined")


class AccessEvent(db.Model):
    """One clinician's view of a child's data: who, what, when. The owner caregiver can read them."""

    __tablename__ = "access_events"
    __table_args__ = (Index("ix_access_events_child_at", "child_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # No foreign key to children: the log outlives a purged child. Users it names are never purged.
    child_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))  # "dashboard.patient", "api.trends", "export.csv", ...
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
