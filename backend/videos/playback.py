"""Serving a stored object over HTTP with Range (RFC 9110): what a <video> element and phone players need to seek.

The bytes stream from the storage block by block, through the app for both backends, so the same
access check, access log and headers apply to every byte (a presigned S3 URL would bypass them).
"""
from flask import Response, request
from flask_babel import gettext, ngettext
from flask_smorest import abort

from backend.videos.storage import Storage

CACHE = "private, max-age=3600"  # a family's video: never in a shared cache


def send_object(store: Storage, key: str, content_type: str, etag: str) -> Response:
    size = store.size(key)
    if size is None:
        abort(404, message=gettext("The file of this video is missing."))
    headers = {"Accept-Ranges": "bytes", "Cache-Control": CACHE, "ETag": f'"{etag}"',
               "X-Content-Type-Options": "nosniff", "Content-Disposition": "inline"}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    span = _range(size, etag)
    if span is None:
        return _stream(store, key, 0, size, 200, content_type, {**headers, "Content-Length": str(size)})
    start, stop = span
    part = {"Content-Length": str(stop - start), "Content-Range": f"bytes {start}-{stop - 1}/{size}"}
    return _stream(store, key, start, stop - start, 206, content_type, {**headers, **part})


def _range(size: int, etag: str) -> tuple[int, int] | None:
    """The requested (start, stop) of a single Range, None for the whole file; 416 when unsatisfiable.
    An If-Range that is not this file's ETag asks for the whole file (a date cannot be confirmed)."""
    if request.range is None or request.if_range.date is not None:
        return None
    if request.if_range.etag is not None and request.if_range.etag != etag:
        return None
    if request.range.units != "bytes" or len(request.range.ranges) != 1:
        return None  # several ranges: the whole file, which RFC 9110 allows
    span = request.range.range_for_length(size)
    if span is None:
        abort(416, message=ngettext("The range is outside the file of %(num)s byte.",
                                    "The range is outside the file of %(num)s bytes.", size),
              headers={"Content-Range": f"bytes */{size}"})
    return span


def _stream(store: Storage, key: str, start: int, length: int, status: int, content_type: str,
            headers: dict) -> Response:
    body = store.read_range(key, start, length) if length else iter(())
    return Response(body, status=status, headers=headers, mimetype=content_type, direct_passthrough=True)
