"""A video's life after its upload: processed by the scheduler, deleted with its episode, child or account.

Processing claims one video at a time with a conditional UPDATE (as the reminder dispatch claims
reminders): a pass that dies mid-way leaves the video `processing`, and the next pass takes it again once
the claim has run out. The bytes are read back from the storage into a temporary file (PyAV needs to
seek), processed there (backend.videos.processing), and the result stored before the row says `ready`;
the original chunks are removed only then.

Deleting marks the row (phones get it in `deleted`); the files go in `sweep`, right after the commit and
again on every pass of the scheduler, so a crash between the two leaves no file for longer than a pass.
"""
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select, update

from backend.accounts.models import User
from backend.database import writing_transactions
from backend.db_types import utcnow
from backend.extensions import db
from backend.i18n import duration, file_size, lazy, lazy_gettext, offered
from backend.observability.events import count as count_event
from backend.videos.models import PROCESSING, READY, REJECTED, UPLOADING, EpisodeVideo, UploadChunk
from backend.videos.processing import Limits, Processed, Rejected, process_file
from backend.videos.storage import READ_BLOCK, storage
from backend.videos.uploads import quota_used

log = logging.getLogger(__name__)
CLAIM = timedelta(minutes=15)  # longer than any processing of a clip within VIDEO_MAX_SECONDS
MAX_ATTEMPTS = 3
FAILED_REASON = lazy_gettext("The video could not be processed; please upload it again.")
VIDEO_KEY, POSTER_KEY = "videos/{id}/video.mp4", "videos/{id}/poster.jpg"


@dataclass
class Pass:
    """What one pass of the video job did, for the log and `flask videos process`."""

    ready: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    swept: int = 0

    def __str__(self) -> str:
        return (f"{len(self.ready)} ready, {len(self.rejected)} rejected, {len(self.expired)} expired uploads, "
                f"files of {self.swept} deleted videos removed")


def run_pass(now: datetime | None = None, limit: int = 20, progress=None) -> Pass:
    """One pass of the scheduler's video job: process what is waiting, expire stale uploads, sweep files."""
    now = now or utcnow()
    result = Pass()
    with writing_transactions():
        for _ in range(limit):
            video_id = claim_next(now)
            if video_id is None:
                break
            status = process_claimed(video_id)
            if status in (READY, REJECTED):  # else failed for now: tried again once its claim runs out
                (result.ready if status == READY else result.rejected).append(video_id)
            if progress:
                progress(f"video {video_id}: {status}")
        result.expired = expire_uploads(now)
        result.swept = sweep()
    for outcome in ("ready", "rejected", "expired"):  # /metrics
        count_event("videos_processed", outcome, amount=len(getattr(result, outcome)))
    return result


# ---- processing -------------------------------------------------------------------------------

def claim_next(now: datetime) -> str | None:
    """Claim a video waiting for processing (or whose last claim ran out), committed; its id."""
    candidates = db.session.scalars(select(EpisodeVideo.id).where(
        EpisodeVideo.status == PROCESSING, EpisodeVideo.deleted_at.is_(None),
        (EpisodeVideo.claimed_until.is_(None)) | (EpisodeVideo.claimed_until < now),
    ).order_by(EpisodeVideo.updated_at).limit(5)).all()
    for video_id in candidates:
        claimed = db.session.execute(update(EpisodeVideo).where(
            EpisodeVideo.id == video_id, EpisodeVideo.status == PROCESSING,
            (EpisodeVideo.claimed_until.is_(None)) | (EpisodeVideo.claimed_until < now),
        ).values(claimed_until=now + CLAIM, attempts=EpisodeVideo.attempts + 1)
            .execution_options(synchronize_session=False))
        db.session.commit()
        if claimed.rowcount == 1:
            return video_id
    db.session.commit()
    return None


def process_claimed(video_id: str) -> str:
    """Process a claimed video end to end; its new status."""
    video = db.session.get(EpisodeVideo, video_id)
    chunks = db.session.scalars(select(UploadChunk).where(UploadChunk.video_id == video_id)
                                .order_by(UploadChunk.offset)).all()
    keys = [chunk.key for chunk in chunks]
    attempts = video.attempts
    db.session.commit()
    workdir = tempfile.mkdtemp(prefix="myodiary-video-")
    try:
        source, digest = _assemble(keys, workdir)
        processed = process_file(source, workdir, _limits())
        _check_quota(video_id, processed.size_bytes)
        return _store_ready(video_id, processed, digest, keys)
    except Rejected as reason:
        return _reject(video_id, reason.args[0], keys)
    except Exception:
        log.exception("video %s: processing failed (attempt %s)", video_id, attempts)
        db.session.rollback()
        if attempts >= MAX_ATTEMPTS:
            return _reject(video_id, FAILED_REASON, keys)
        return PROCESSING  # claimed until CLAIM runs out, then tried again
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _limits() -> Limits:
    config = current_app.config
    return Limits(max_seconds=config["VIDEO_MAX_SECONDS"], max_bytes=config["VIDEO_MAX_BYTES"])


def _assemble(keys: list[str], workdir: str) -> tuple[str, str]:
    """The uploaded chunks, in order, as one local file; (its path, its sha256)."""
    path, digest = os.path.join(workdir, "upload"), hashlib.sha256()
    with open(path, "wb") as file:
        for key in keys:
            storage().download(key, file)
    with open(path, "rb") as file:
        while block := file.read(READ_BLOCK):
            digest.update(block)
    return path, digest.hexdigest()


def _check_quota(video_id: str, size: int) -> None:
    child_id = db.session.scalar(select(EpisodeVideo.child_id).where(EpisodeVideo.id == video_id))
    used, quota = quota_used(child_id, except_id=video_id), current_app.config["VIDEO_QUOTA_BYTES_PER_CHILD"]
    db.session.commit()
    if used + size > quota:
        raise Rejected(lazy_gettext("This child's videos already take %(used)s of the %(quota)s kept per child; "
                                    "delete a video to make room, then upload this one again.",
                                    used=lazy(file_size, used), quota=lazy(file_size, quota)))


def _store_ready(video_id: str, processed: Processed, digest: str, chunk_keys: list[str]) -> str:
    media_key, poster_key = VIDEO_KEY.format(id=video_id), POSTER_KEY.format(id=video_id)
    storage().put_file(media_key, processed.video_path, processed.content_type)
    storage().put_file(poster_key, processed.poster_path, "image/jpeg")
    video = db.session.get(EpisodeVideo, video_id)
    if video is None or video.deleted_at is not None or video.status != PROCESSING:  # deleted meanwhile
        status = video.status if video is not None else REJECTED
        db.session.commit()
        _remove_files(video_id)  # keep nothing
        return status
    video.status, video.content_type, video.size_bytes = READY, processed.content_type, processed.size_bytes
    video.duration_ms, video.width, video.height = processed.duration_ms, processed.width, processed.height
    video.sha256, video.media_key, video.poster_key = digest, media_key, poster_key
    video.updated_at, video.claimed_until = utcnow(), None
    _drop_chunks(video_id)
    db.session.commit()
    _delete_keys(chunk_keys)
    log.info("video %s ready: %s ms, %sx%s, %s bytes%s", video_id, processed.duration_ms, processed.width,
             processed.height, processed.size_bytes, ", transcoded to H.264" if processed.transcoded else "")
    return READY


def _reject(video_id: str, reason, chunk_keys: list[str]) -> str:
    """Rejected, with the reason (a lazy message) written in the uploader's language: the parent reads it in the
    app, where it arrives by sync as it is stored."""
    video = db.session.get(EpisodeVideo, video_id)
    video.status, video.claimed_until, video.updated_at = REJECTED, None, utcnow()
    video.rejected_reason = in_uploaders_language(video, reason)
    _drop_chunks(video_id)
    db.session.commit()
    _delete_keys(chunk_keys)
    log.info("video %s rejected: %s", video_id, reason)
    return REJECTED


def in_uploaders_language(video: EpisodeVideo, reason) -> str:
    uploader = db.session.get(User, video.uploaded_by)
    with force_locale(offered(uploader.locale if uploader is not None else None)):
        return str(reason)


def _drop_chunks(video_id: str) -> None:
    db.session.execute(UploadChunk.__table__.delete().where(UploadChunk.video_id == video_id))


def _delete_keys(keys: list[str]) -> None:
    for key in keys:
        storage().delete(key)


# ---- expiry and deletion ----------------------------------------------------------------------

def expire_uploads(now: datetime) -> list[str]:
    """Uploads left incomplete past Upload-Expires: rejected with the reason, their bytes removed."""
    hours = current_app.config["UPLOAD_EXPIRES_HOURS"]
    expired = db.session.scalars(select(EpisodeVideo).where(
        EpisodeVideo.status == UPLOADING, EpisodeVideo.deleted_at.is_(None),
        EpisodeVideo.upload_expires_at < now, EpisodeVideo.writer.is_(None) | (EpisodeVideo.writer_until < now),
    ).limit(100)).all()
    for video in expired:
        video.status = REJECTED
        video.rejected_reason = in_uploaders_language(video, lazy_gettext(
            "The upload did not finish within %(hours)s; please upload the clip again.",
            hours=duration(hours, "hour")))
        video.updated_at = now
        _drop_chunks(video.id)
    ids = [video.id for video in expired]
    db.session.commit()
    for video_id in ids:
        storage().delete_prefix(f"uploads/{video_id}/")
    return ids


def delete_videos(videos, now: datetime | None = None) -> list[str]:
    """Mark videos deleted in the caller's transaction (phones get their ids in `deleted`); the caller
    commits, then calls `sweep` (or leaves it to the scheduler's next pass)."""
    now = now or utcnow()
    for video in videos:
        if video.deleted_at is None:
            video.deleted_at, video.updated_at = now, now
    return [video.id for video in videos]


def delete_videos_of_episodes(episode_ids: list[str], now: datetime | None = None) -> list[str]:
    """The deleted episodes' videos deleted with them, in the caller's transaction."""
    if not episode_ids:
        return []
    videos = db.session.scalars(select(EpisodeVideo).where(
        EpisodeVideo.episode_id.in_(episode_ids), EpisodeVideo.deleted_at.is_(None))).all()
    return delete_videos(videos, now)


def sweep(limit: int = 200, video_ids: list[str] | None = None) -> int:
    """Remove the files of deleted videos (of these, when given); how many videos' files were removed."""
    query = select(EpisodeVideo.id).where(EpisodeVideo.deleted_at.is_not(None), EpisodeVideo.files_removed_at.is_(None))
    if video_ids is not None:
        query = query.where(EpisodeVideo.id.in_(video_ids))
    ids = db.session.scalars(query.limit(limit)).all()
    db.session.commit()
    for video_id in ids:
        _remove_files(video_id)
        db.session.execute(update(EpisodeVideo).where(EpisodeVideo.id == video_id).values(
            files_removed_at=utcnow(), media_key=None, poster_key=None).execution_options(synchronize_session=False))
        db.session.commit()
    return len(ids)


def remove_files_of_children(child_ids: list[str]) -> None:
    """Before a purge removes children's rows: every file of their videos (the rows go with the children)."""
    for video_id in db.session.scalars(select(EpisodeVideo.id).where(EpisodeVideo.child_id.in_(child_ids))):
        _remove_files(video_id)


def _remove_files(video_id: str) -> None:
    storage().delete_prefix(f"uploads/{video_id}/")
    storage().delete_prefix(f"videos/{video_id}/")
