"""A child whose movements the diary records."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.children.ages import ages_on
from backend.db_types import UTCDateTime, new_id, utcnow
from backend.extensions import db
from backend.versioning import Versioned

SEXES = ("female", "male", "other")
CONDITIONS = ("bnsm", "benign_myoclonus_of_infancy", "hypnic_jerks", "unspecified")


class Child(Versioned, db.Model):
    __tablename__ = "children"

    # Client-made ids (WatermelonDB: 16 letters and digits) or server-made UUIDs.
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(80))
    birth_date: Mapped[date] = mapped_column(Date)
    gestational_weeks: Mapped[float | None] = mapped_column(Float)
    sex: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    condition: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Kept fresh by backend.trends.freshness on every write of the diary.
    summary: Mapped["ChildSummary | None"] = relationship(lazy="select", viewonly=True)  # noqa: F821

    def mark_deleted(self) -> None:
        """Delete as the phones understand it: a tombstone they receive in `deleted` (purged later)."""
        self.deleted_at = self.updated_at = utcnow()

    @property
    def age(self) -> dict:
        """Ages today in the child's own timezone."""
        today = datetime.now(ZoneInfo(self.timezone)).date()
        return ages_on(self.birth_date, today, self.gestational_weeks)
