"""tus 1.0 uploads of episode videos (../shared/SYNC_SCHEMA.md, "Videos"): the state in the database.

The upload's offset, length and uploader live in its `episode_videos` row, so any web worker answers
the next request. A PATCH first takes the upload (a conditional UPDATE, committed: no transaction stays
open while the body streams in), streams its body into one storage object, then records that chunk and
the new offset in one transaction. A second PATCH meanwhile finds the upload taken (423), a wrong offset
gets 409; a writer that died leaves the upload to be taken again once its hold expires, and its bytes
are never counted. A body cut off mid-way keeps what arrived: the client asks HEAD and resumes there.
"""
import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import func, or_, select, update
from werkzeug.exceptions import ClientDisconnected, HTTPException

from backend.accounts.models import User
from backend.care_teams.access import WRITE
from backend.database import commit_keeping_loaded, kept_after_commit
from backend.db_types import new_id, utcnow
from backend.diary.entries import find_entry
from backend.diary.models import Episode
from backend.extensions import db
from backend.i18n import file_size, number
from backend.validation import CLIENT_ID
from backend.videos.models import PROCESSING, REJECTED, UPLOADING, EpisodeVideo, UploadChunk
from backend.videos.storage import READ_BLOCK, storage

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,expiration,checksum"
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
WRITER_HOLD = timedelta(minutes=30)  # a PATCH longer than this loses the upload to the next one


class ChecksumMismatch(HTTPException):
    """tus checksum extension: the PATCH's bytes do not match its Upload-Checksum; none of them are kept."""

    code = 460
    name = "Checksum Mismatch"

    @property
    def description(self) -> str:  # the `message` of the error, in the reader's language
        return gettext("The bytes do not match Upload-Checksum; send them again.")


def tus_headers(video: EpisodeVideo | None = None) -> dict:
    headers = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}
    if video is not None:
        headers["Upload-Offset"] = str(video.upload_offset)
        headers["Upload-Length"] = str(video.upload_length)
        if video.upload_expires_at is not None and video.status == UPLOADING:
            headers["Upload-Expires"] = video.upload_expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return headers


def check_tus_version(headers) -> None:
    if headers.get("Tus-Resumable") != TUS_VERSION:
        abort(412, message=gettext("Send Tus-Resumable: %(version)s; this server speaks tus %(version)s.",
                                   version=TUS_VERSION),
              headers={"Tus-Version": TUS_VERSION})


# ---- creation --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Creation:
    video_id: str
    episode_id: str
    length: int
    filename: str | None
    filetype: str | None


def parse_creation(headers) -> Creation:
    """The POST's Upload-Length and Upload-Metadata, or a 422 naming the header and key."""
    if headers.get("Upload-Defer-Length"):
        abort(422, errors={"Upload-Defer-Length": [gettext("Send Upload-Length: the size must be known.")]})
    length = _length(headers.get("Upload-Length"))
    metadata = _metadata(headers.get("Upload-Metadata", ""))
    errors = {}
    for key in ("id", "episode_id"):
        if not CLIENT_ID.fullmatch(metadata.get(key) or ""):
            errors[key] = [gettext("Ids are 1-64 characters of A-Z, a-z, 0-9, _ and -.")]
    if errors:
        abort(422, message=gettext("Upload-Metadata must hold id and episode_id."),
              errors={"Upload-Metadata": errors})
    return Creation(metadata["id"], metadata["episode_id"], length,
                    (metadata.get("filename") or "")[:255] or None, (metadata.get("filetype") or "")[:100] or None)


def _length(raw: str | None) -> int:
    if raw is None or not raw.isdigit() or len(raw) > 15:
        abort(422, errors={"Upload-Length": [gettext("Must be the file's size in bytes, a whole number.")]})
    length = int(raw)
    if length == 0:
        abort(422, errors={"Upload-Length": [gettext("The file is empty: an empty file is not a video.")]})
    limit = current_app.config["VIDEO_MAX_BYTES"]
    if length > limit:
        abort(413, message=gettext("Videos may be up to %(limit)s; this one is %(size)s.",
                                   limit=file_size(limit), size=file_size(length)),
              errors={"Upload-Length": [gettext("Must be at most %(limit)s.", limit=file_size(limit, exact=True))]})
    return length


def _metadata(raw: str) -> dict[str, str]:
    """tus Upload-Metadata: comma-separated `key base64(value)` pairs."""
    found = {}
    for pair in filter(None, (part.strip() for part in raw.split(","))):
        key, _, value = pair.partition(" ")
        try:
            found[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            abort(422, errors={"Upload-Metadata": {key: [gettext("Values must be base64 of UTF-8 text.")]}})
        if "\x00" in found[key] or any(c in found[key] for c in "\r\n"):
            abort(422, errors={"Upload-Metadata": {key: [gettext("Must be one line of text.")]}})
    return found


def create_upload(user: User, creation: Creation) -> tuple[EpisodeVideo, bool]:
    """The new upload's row, or the same upload again for a retried creation; (video, created)."""
    existing = db.session.get(EpisodeVideo, creation.video_id)
    if existing is not None:
        if (existing.uploaded_by == user.id and existing.episode_id == creation.episode_id
                and existing.upload_length == creation.length and existing.deleted_at is None):
            return existing, False
        abort(409, message=gettext("This video id is taken; choose another."), errors={"Upload-Metadata": {
            "id": [gettext("This id is taken; choose another.")]}})
    episode = find_entry(user, Episode, creation.episode_id, need=WRITE).entry
    if episode is None:
        abort(404, message=gettext("No such episode."))
    _check_quota(episode.child_id, creation.length)
    video = EpisodeVideo(id=creation.video_id, episode_id=episode.id, child_id=episode.child_id,
                         uploaded_by=user.id, status=UPLOADING, size_bytes=creation.length,
                         upload_length=creation.length, upload_offset=0, filename=creation.filename,
                         declared_type=creation.filetype,
                         upload_expires_at=utcnow() + timedelta(hours=current_app.config["UPLOAD_EXPIRES_HOURS"]))
    db.session.add(video)
    return video, True


def quota_used(child_id: str, except_id: str | None = None) -> int:
    """Bytes the child's live videos take or will take (their declared size until processed)."""
    query = select(func.coalesce(func.sum(EpisodeVideo.size_bytes), 0)).where(
        EpisodeVideo.child_id == child_id, EpisodeVideo.deleted_at.is_(None), EpisodeVideo.status != REJECTED)
    if except_id is not None:
        query = query.where(EpisodeVideo.id != except_id)
    return int(db.session.scalar(query))


def _check_quota(child_id: str, length: int) -> None:
    quota = current_app.config["VIDEO_QUOTA_BYTES_PER_CHILD"]
    used = quota_used(child_id)
    if used + length > quota:
        abort(413, message=gettext("This child's videos already take %(used)s of the %(quota)s kept per child; "
                                   "delete one to make room.", used=file_size(used), quota=file_size(quota)),
              errors={"Upload-Length": [gettext("Over the child's video quota.")]})


# ---- which upload ------------------------------------------------------------------------------

def upload_for(user: User, video_id: str) -> EpisodeVideo:
    """The caller's own live upload (the uploader's, while still a caregiver of the child), else 404."""
    video = db.session.get(EpisodeVideo, video_id) if CLIENT_ID.fullmatch(video_id) else None
    if video is None or video.deleted_at is not None or video.uploaded_by != user.id:
        abort(404, message=gettext("No such upload."))
    if find_entry(user, Episode, video.episode_id, need=WRITE).entry is None:
        abort(404, message=gettext("No such upload."))
    expired = video.status == UPLOADING and video.upload_expires_at is not None and video.upload_expires_at < utcnow()
    if expired or (video.status == REJECTED and video.upload_offset < video.upload_length):
        abort(410, message=gettext("This upload expired; start a new one."))
    return video


# ---- PATCH -------------------------------------------------------------------------------------

class Body:
    """The request body as a stream: at most `room` bytes (more is a 413 once seen), a cut-off client
    read as the end, and a checksum as it goes."""

    def __init__(self, stream, room: int, digest=None):
        self.stream, self.room, self.digest = stream, room, digest
        self.received, self.too_long, self.cut = 0, False, False

    def read(self, size: int = READ_BLOCK) -> bytes:
        if self.too_long:
            return b""
        try:
            block = self.stream.read(min(size, self.room - self.received + 1))
        except ClientDisconnected:
            self.cut = True
            return b""
        if self.received + len(block) > self.room:
            self.too_long = True
            return b""
        self.received += len(block)
        if self.digest is not None:
            self.digest.update(block)
        return block


def expected_checksum(header: str | None):
    """(digest object, expected bytes) from Upload-Checksum, or (None, None)."""
    if not header:
        return None, None
    algorithm, _, value = header.partition(" ")
    if algorithm not in CHECKSUMS:
        abort(400, message=gettext("Upload-Checksum algorithms: %(algorithms)s.", algorithms=", ".join(CHECKSUMS)),
              errors={"Upload-Checksum": [gettext("Unsupported algorithm.")]})
    try:
        return CHECKSUMS[algorithm](), base64.b64decode(value, validate=True)
    except binascii.Error:
        abort(400, errors={"Upload-Checksum": [gettext("The checksum must be base64.")]})


def take_upload(video: EpisodeVideo, offset: int) -> str:
    """Hold the upload for this PATCH (committed at once); the hold's id. 409 for a wrong offset, 423
    while another PATCH holds it."""
    if video.status != UPLOADING:
        abort(409, message=gettext("This upload is complete."),
              errors={"Upload-Offset": [gettext("The upload is complete.")]})
    if offset != video.upload_offset:
        abort(409, message=_wrong_offset(video), errors={"Upload-Offset": [_must_be_offset(video)]},
              headers=tus_headers(video))
    writer, now = new_id(), utcnow()
    taken = db.session.execute(update(EpisodeVideo).where(
        EpisodeVideo.id == video.id, EpisodeVideo.status == UPLOADING, EpisodeVideo.upload_offset == offset,
        or_(EpisodeVideo.writer.is_(None), EpisodeVideo.writer_until < now),
    ).values(writer=writer, writer_until=now + WRITER_HOLD).execution_options(synchronize_session=False))
    with kept_after_commit(db.session()):
        db.session.commit()  # the body streams in outside any transaction
    if taken.rowcount != 1:
        db.session.refresh(video)
        if video.upload_offset != offset:
            abort(409, message=_wrong_offset(video), errors={"Upload-Offset": [_must_be_offset(video)]})
        abort(423, message=gettext("Another request is uploading to this video now; try again when it ends."))
    return writer


def _wrong_offset(video: EpisodeVideo) -> str:
    return gettext("The upload is at offset %(offset)s; send the bytes from there.",
                   offset=number(video.upload_offset))


def _must_be_offset(video: EpisodeVideo) -> str:
    return gettext("Must be %(offset)s.", offset=number(video.upload_offset))


def receive_chunk(video_id: str, offset: int, writer: str, body: Body) -> tuple[int, str | None]:
    """Stream the body into a new storage object; (bytes stored, its key or None when empty)."""
    key = f"uploads/{video_id}/{offset:015d}-{writer}"
    try:
        size = storage().write_stream(key, body)
    except BaseException:
        release(video_id, writer)
        storage().delete(key)
        raise
    if size == 0:
        storage().delete(key)
        return 0, None
    return size, key


def record_chunk(video: EpisodeVideo, offset: int, writer: str, size: int, key: str | None) -> None:
    """The chunk and the new offset in one transaction; the last chunk makes the video `processing`."""
    new_offset = offset + size
    done = new_offset == video.upload_length
    moved = db.session.execute(update(EpisodeVideo).where(
        EpisodeVideo.id == video.id, EpisodeVideo.writer == writer,
    ).values(upload_offset=new_offset, writer=None, writer_until=None).execution_options(synchronize_session=False))
    if moved.rowcount != 1:  # held past WRITER_HOLD and taken by another PATCH: these bytes do not count
        db.session.rollback()
        if key:
            storage().delete(key)
        abort(409, message=gettext("This upload was resumed by another request; ask HEAD for its offset."))
    if key:
        db.session.add(UploadChunk(id=new_id(), video_id=video.id, offset=offset, size=size, key=key))
    if done:
        video.status, video.upload_offset, video.updated_at = PROCESSING, new_offset, utcnow()
        video.claimed_until = None
    commit_keeping_loaded()
    video.upload_offset = new_offset


def release(video_id: str, writer: str) -> None:
    """Give the upload up without counting any byte (a failed or refused PATCH)."""
    db.session.rollback()
    db.session.execute(update(EpisodeVideo).where(EpisodeVideo.id == video_id, EpisodeVideo.writer == writer)
                       .values(writer=None, writer_until=None).execution_options(synchronize_session=False))
    db.session.commit()

