"""What the purge leaves of a child so that phones still holding it learn it is gone.

A purged child has no rows left, yet a phone offline for the whole retention period may still hold
it. Phones learn of deletions only through a pull's `deleted` lists (SYNC_SCHEMA.md), so the purge
keeps ids (never content): which members may still hold the child, from which version on they lost
it, and the ids of its diary records with the version and the phone that made them, so that a pull
lists only those the phone may hold (backend.privacy.tombstones).
"""
from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db


class PurgedChild(db.Model):
    """One member's claim to a purged child: a pull older than `lost_version` gets it in `deleted`."""

    __tablename__ = "purged_children"

    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    lost_version: Mapped[int] = mapped_column(BigInteger)  # deleted, or the member left before
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PurgedEntry(db.Model):
    """The id of a purged child's record of a phone's table (episode, sleep session, treatment, development
    check, video), and what tells which phones may hold it."""

    __tablename__ = "purged_entries"

    table_name: Mapped[str] = mapped_column(String(32), primary_key=True)  # the phone's table: episodes, ...
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(64), index=True)
    created_version: Mapped[int | None] = mapped_column(BigInteger)  # None: purged before it was kept
    created_by_device: Mapped[str | None] = mapped_column(String(64))
