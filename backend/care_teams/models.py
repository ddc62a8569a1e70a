"""Care-team memberships and invites: who is in a child's care team, in which role."""
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.accounts.models import User
from backend.db_types import UTCDateTime, new_id, utcnow
from backend.extensions import db
from backend.versioning import Stamped

MEMBER_ROLES = ("owner", "caregiver", "clinician")
INVITE_ROLES = ("caregiver", "clinician")
WRITER_ROLES = ("owner", "caregiver")


class Membership(Stamped, db.Model):
    """A user's place in a child's care team; revoking keeps the row for the record.

    The sync versions of granting and revoking tell a phone which children it already has.
    """

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("child_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_granted_version: Mapped[int] = mapped_column(BigInteger)
    granted_version: Mapped[int] = mapped_column(BigInteger)
    revoked_version: Mapped[int | None] = mapped_column(BigInteger)

    user: Mapped[User] = relationship(lazy="joined")
    child: Mapped["Child"] = relationship()  # noqa: F821 (backend.children.models)

    @property
    def can_write(self) -> bool:
        return self.role in WRITER_ROLES

    def stamp(self, version: int, new: bool) -> None:
        if new:
            self.first_granted_version = self.granted_version = version
        elif inspect(self).attrs.revoked_at.history.has_changes():
            if self.revoked_at is None:
                self.granted_version = version
            else:
                self.revoked_version = version


class Invite(db.Model):
    """A single-use code that adds its bearer to a care team; only its SHA-256 is stored."""

    __tablename__ = "invites"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
