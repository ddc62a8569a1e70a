"""Episode videos: the phone's `episode_videos` table (SYNC_SCHEMA.md, version 2) and the upload behind each.

A video row exists from the tus creation on (status `uploading`), so a phone sees its clip at once and any
web worker can answer the next PATCH: the offset, the length, the uploader and the chunks stored so far
live here, not in a process. Its bytes live in the storage (backend.videos.storage) under keys this row
names; a deleted row keeps its keys until the sweep has removed the files (backend.videos.lifecycle).
"""
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db
from backend.versioning import Versioned, created_late_index

UPLOADING, PROCESSING, READY, REJECTED = "uploading", "processing", "ready", "rejected"
STATUSES = (UPLOADING, PROCESSING, READY, REJECTED)


class EpisodeVideo(Versioned, db.Model):
    __tablename__ = "episode_videos"
    __table_args__ = (Index("ix_episode_videos_episode", "episode_id"),
                      Index("ix_episode_videos_child_version", "child_id", "version"),
                      Index("ix_episode_videos_status", "status", "claimed_until"),
                      created_late_index("episode_videos"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # chosen by the phone
    episode_id: Mapped[str] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    uploaded_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=UPLOADING)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)  # declared at upload, actual once processed
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the bytes uploaded, once all arrived

    # The upload (tus): what the client said, how far it got, who is writing now.
    filename: Mapped[str | None] = mapped_column(String(255))
    declared_type: Mapped[str | None] = mapped_column(String(100))  # the client's word, never trusted
    upload_length: Mapped[int] = mapped_column(BigInteger)
    upload_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    upload_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    writer: Mapped[str | None] = mapped_column(String(36))  # the PATCH holding the upload, until writer_until
    writer_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Processing (the scheduler): claimed like a reminder, so a crash leaves it for the next pass.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    media_key: Mapped[str | None] = mapped_column(String(200))
    poster_key: Mapped[str | None] = mapped_column(String(200))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    files_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set by the sweep once deleted


class UploadChunk(db.Model):
    """One PATCH's bytes, stored as one object: the upload is its chunks in offset order."""

    __tablename__ = "upload_chunks"
    __table_args__ = (UniqueConstraint("video_id", "offset", name="uq_upload_chunks_video_offset"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("episode_videos.id", ondelete="CASCADE"))
    offset: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(200))
