"""The family archive (`flask data export --with-media`, `flask data import`): one zip file holding the
family document and the files of every ready video, so that a family's videos travel with its data.

    family.json              the family document (backend.privacy.document), deflated
    videos/<video id>.mp4    the MP4 this server plays, stored as is
    videos/<video id>.jpg    its poster

Why a zip and not a tar: a zip opens with a double click on every family's computer, so the archive is
also the copy of their videos a family can keep and watch; its central directory lets the import read
and check the document, and find every file it names, before it copies a byte; each member carries a
CRC-32 that is checked as it is read back, so a damaged file is refused instead of restored (a tar
checks its headers only, and is read front to back). The MP4s and posters are stored without
compression (they are compressed already), the document deflated. Files over 4 GiB, and archives over
4 GiB, are written as Zip64, which every current unzip reads.

Nothing is held whole in memory: each file streams from the storage into its zip member
(Storage.download writes into it block by block), and on import from its member into the storage
(Storage.write_stream reads it block by block), whichever the storage (local or S3). The archive is
written 0600 under a temporary name and renamed when complete, so a half-written one never looks done.

The import copies the files first, outside the database transaction (a long copy must not hold
SQLite's write lock), then writes the rows in one transaction; when anything fails (a damaged member,
a refused document, a clash, Ctrl-C) the files copied so far are removed again, so no file is left
without its record.
"""
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from backend.database import id_chunks
from backend.extensions import db
from backend.privacy.portability import ImportRefused, read_document
from backend.private_files import FILE_MODE
from backend.videos.lifecycle import POSTER_KEY, VIDEO_KEY
from backend.videos.models import READY, EpisodeVideo
from backend.videos.storage import storage

DOCUMENT = "family.json"
VIDEO_NAME, POSTER_NAME = "videos/{id}.mp4", "videos/{id}.jpg"
FILE_ATTRIBUTES = (0o100000 | FILE_MODE) << 16  # a regular file, 0600 once unzipped


class ArchiveError(Exception):
    """The archive cannot be written; the message says why. No archive was left behind."""


@dataclass(frozen=True)
class MediaFile:
    video_id: str
    name: str  # in the archive
    key: str  # in the storage
    size: int


# ---- export -------------------------------------------------------------------------------------

def ready_video_ids(document: dict) -> list[str]:
    return [video["id"] for child in document["children"] for video in child["videos"] if video["status"] == READY]


def media_files(document: dict) -> list[MediaFile]:
    """The files of the document's ready videos, read in the export's snapshot (the keys are the rows')."""
    files = []
    for some in id_chunks(ready_video_ids(document)):
        rows = db.session.execute(select(EpisodeVideo.id, EpisodeVideo.media_key, EpisodeVideo.poster_key).where(
            EpisodeVideo.id.in_(some)).order_by(EpisodeVideo.id))
        for video_id, media_key, poster_key in rows:
            for name, key in ((VIDEO_NAME, media_key), (POSTER_NAME, poster_key)):
                size = storage().size(key) if key else None
                if size is None:
                    raise ArchiveError(f"The file of video {video_id} is missing from the storage ({key}); was it "
                                       "deleted during the export? Run the export again.")
                files.append(MediaFile(video_id, name.format(id=video_id), key, size))
    return files


def write_archive(path: Path, document_text: str, files: list[MediaFile],
                  advance: Callable[[int], None] = lambda n: None) -> None:
    """Write the archive at `path` (0600; complete or not at all), `advance` called with the bytes of the
    videos' files as they are copied."""
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)
    when = datetime.now().timetuple()[:6]
    try:
        with os.fdopen(descriptor, "wb") as raw:
            with zipfile.ZipFile(raw, "w") as archive:
                archive.writestr(_member(DOCUMENT, when, zipfile.ZIP_DEFLATED), document_text.encode())
                for file in files:
                    info = _member(file.name, when, zipfile.ZIP_STORED)
                    info.file_size = file.size  # zipfile switches to Zip64 from this, before the first byte
                    with archive.open(info, "w") as member:
                        storage().download(file.key, _Counted(member, advance))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
    except FileNotFoundError as error:
        partial.unlink(missing_ok=True)
        raise ArchiveError(f"A video's file disappeared from the storage during the export ({error}); "
                           "run the export again.") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _member(name: str, when: tuple, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type, info.external_attr = compression, FILE_ATTRIBUTES
    return info


class _Counted:
    """A writable file that reports the bytes written through it."""

    def __init__(self, target, advance: Callable[[int], None]):
        self.target, self.advance = target, advance

    def write(self, block) -> int:
        written = self.target.write(block)
        self.advance(len(block))
        return written


# ---- import -------------------------------------------------------------------------------------

def open_archive(path: str) -> zipfile.ZipFile | None:
    """The archive at `path`, or None when the file is not a zip (a plain document, or stdin: "-")."""
    if path == "-" or not zipfile.is_zipfile(path):
        return None
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise ImportRefused(f"The zip file is damaged ({error}); nothing was imported.") from None


def read_archive_document(archive: zipfile.ZipFile) -> dict:
    """The archive's family document, loaded and checked (ImportRefused saying what is wrong)."""
    try:
        text = archive.read(DOCUMENT).decode("utf-8")
    except KeyError:
        raise ImportRefused(f"The zip file has no {DOCUMENT}: it is not a Myodiary family archive.") from None
    except (zipfile.BadZipFile, zlib.error, UnicodeDecodeError) as error:
        raise ImportRefused(f"The archive's {DOCUMENT} is damaged ({error}); nothing was imported.") from None
    return read_document(text)


@dataclass(frozen=True)
class Restoring:
    """A ready video's files to copy from the archive into the storage."""

    video_id: str
    files: tuple[tuple[str, str], ...]  # (name in the archive, key in the storage)
    size: int


def files_to_restore(document: dict, archive: zipfile.ZipFile | None) -> list[Restoring]:
    """Every ready video's files in the archive (none without one); ImportRefused when one is missing or its
    MP4 is not the size the document gives."""
    if archive is None:
        return []
    names = {info.filename: info for info in archive.infolist()}
    sizes = {video["id"]: video["size_bytes"] for child in document["children"] for video in child["videos"]}
    restoring = []
    for video_id in ready_video_ids(document):
        files = ((VIDEO_NAME.format(id=video_id), VIDEO_KEY.format(id=video_id)),
                 (POSTER_NAME.format(id=video_id), POSTER_KEY.format(id=video_id)))
        for name, _ in files:
            if name not in names:
                raise ImportRefused(f"The archive lacks {name}, a file of the video {video_id} its document lists; "
                                    "nothing was imported.")
        if names[files[0][0]].file_size != sizes[video_id]:
            raise ImportRefused(f"{files[0][0]} in the archive is {names[files[0][0]].file_size} bytes, the "
                                f"document says {sizes[video_id]}; nothing was imported.")
        restoring.append(Restoring(video_id, files, sum(names[name].file_size for name, _ in files)))
    return restoring


def restore_files(archive: zipfile.ZipFile, restoring: list[Restoring],
                  advance: Callable[[int], None] = lambda n: None) -> None:
    """Copy the files into the storage, checking each member's CRC; on any failure the files copied so far
    are removed and ImportRefused (a damaged member) or the error is raised."""
    with files_removed_on_failure(restoring):
        for video in restoring:
            for name, key in video.files:
                try:
                    with archive.open(name) as member:
                        storage().write_stream(key, _CountedReader(member, advance))
                except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                    raise ImportRefused(f"{name} in the archive is damaged ({error}); nothing was imported.") \
                        from None


@contextmanager
def files_removed_on_failure(restoring: list[Restoring]) -> Iterator[None]:
    """Remove the restored videos' files when the block fails, whatever the failure (Ctrl-C too), but never
    those of a video whose row exists (one imported meanwhile by another run: its files are its own)."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        ids = [video.video_id for video in restoring]
        kept = {found for some in id_chunks(ids)
                for found in db.session.scalars(select(EpisodeVideo.id).where(EpisodeVideo.id.in_(some)))}
        db.session.rollback()
        for video_id in ids:
            if video_id not in kept:
                storage().delete_prefix(_folder(video_id))
        raise


def _folder(video_id: str) -> str:
    """The folder of a video's files (backend.videos.lifecycle's layout), partial writes included."""
    return VIDEO_KEY.format(id=video_id).rpartition("/")[0] + "/"


class _CountedReader:
    """A readable file that reports the bytes read through it."""

    def __init__(self, source, advance: Callable[[int], None]):
        self.source, self.advance = source, advance

    def read(self, size: int = -1) -> bytes:
        block = self.source.read(size)
        self.advance(len(block))
        return block
