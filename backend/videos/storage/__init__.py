"""Where video bytes live: one small interface, two backends chosen by VIDEO_STORAGE.

`local` (the default) keeps files under instance/media/, nothing to set up; `s3` keeps objects in any
S3-compatible store (S3_ENDPOINT_URL, S3_BUCKET, the standard AWS credential variables), the path past
one machine. Keys are relative paths made by the server ("uploads/<video id>/<chunk id>",
"videos/<video id>/video.mp4"), never from a client's words.

Every method streams: no call holds a whole file in memory.
"""
from flask import current_app

from backend.videos.storage.base import READ_BLOCK, Storage

__all__ = ["READ_BLOCK", "Storage", "make_storage", "storage"]


def storage() -> Storage:
    """The application's storage, made once per app from its configuration."""
    found = current_app.extensions.get("video_storage")
    if found is None:
        found = current_app.extensions["video_storage"] = make_storage(current_app.config)
    return found


def make_storage(config) -> Storage:
    kind = config["VIDEO_STORAGE"]
    if kind == "local":
        from backend.videos.storage.local import LocalStorage
        return LocalStorage(config["MEDIA_DIR"])
    if kind == "s3":
        from backend.videos.storage.s3 import S3Storage
        return S3Storage(endpoint_url=config["S3_ENDPOINT_URL"] or None, bucket=config["S3_BUCKET"])
    raise ValueError(f"VIDEO_STORAGE must be local or s3, not {kind!r}")
