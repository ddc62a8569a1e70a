"""Users, their bearer tokens and dashboard sessions, and what account security keeps (issue 21)."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db_types import UTCDateTime, new_id, utcnow
from backend.extensions import db

USER_ROLES = ("caregiver", "clinician")
TOKEN_KINDS = ("api", "dashboard")  # a dashboard session is never accepted as an API bearer token


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # scrubbed; purged later (backend.privacy)
    # Email verification: emails about a child go only to a verified address. Accounts from before
    # verification existed count as verified (the migration sets it to created_at).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pending_email: Mapped[str | None] = mapped_column(String(254))  # a new address, until it is verified
    # Two-factor sign-in (TOTP, RFC 6238): the secret encrypted at rest; on once confirmed.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # the last time step accepted: no replay
    # The language of every email and page this account reads (backend/i18n.py LOCALES); from the
    # registration's Accept-Language.
    locale: Mapped[str] = mapped_column(String(16), default="en", server_default="en")


class Token(db.Model):
    """An opaque bearer token (kind "api") or a dashboard session (kind "dashboard"); only its SHA-256 is stored."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16), default="api", server_default="api")
    device_name: Mapped[str | None] = mapped_column(String(120))  # what the client called itself at sign-in
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # to the hour: no write per request

    user: Mapped[User] = relationship(lazy="joined")


class PasswordReset(db.Model):
    """A single-use password reset; only the SHA-256 of the emailed token is stored."""

    __tablename__ = "password_resets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """One of the ten single-use codes that stand in for a TOTP code; only its hash is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountEmail(db.Model):
    """The account emails' outbox (verification, reset, changed email or password, new device, a sign-up attempt).

    Queued in the transaction that causes it, sent by the scheduler within seconds (and by every
    `flask reminders dispatch`). A link's secret is kept encrypted only until the email is sent, then erased.
    """

    __tablename__ = "account_emails"
    __table_args__ = (Index("ix_account_emails_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    to_address: Mapped[str] = mapped_column(String(254))
    facts: Mapped[str] = mapped_column(Text, default="{}")  # JSON: what the template says, never a secret
    secret: Mapped[str | None] = mapped_column(Text)  # the link's token, encrypted; None once sent
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending, sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
