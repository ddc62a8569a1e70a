"""A video as the API shows it: the phone's `episode_videos` columns plus where to play it."""
import marshmallow as ma
from flask import url_for
from marshmallow import fields

from backend.videos.models import READY, STATUSES


class VideoSchema(ma.Schema):
    id = fields.String(dump_only=True)
    episode_id = fields.String(dump_only=True)
    child_id = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": list(STATUSES)})
    rejected_reason = fields.String(dump_only=True, allow_none=True,
                                    metadata={"description": "Why it was not kept, in words a parent understands"})
    content_type = fields.String(dump_only=True, allow_none=True)
    size_bytes = fields.Integer(dump_only=True, metadata={"description": "Declared at upload, actual once processed"})
    duration_ms = fields.Integer(dump_only=True, allow_none=True)
    width = fields.Integer(dump_only=True, allow_none=True)
    height = fields.Integer(dump_only=True, allow_none=True)
    uploaded_by = fields.String(dump_only=True)
    upload_offset = fields.Integer(dump_only=True, metadata={"description": "Bytes received so far"})
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)
    content_url = fields.Method("_content_url", dump_only=True, allow_none=True)
    poster_url = fields.Method("_poster_url", dump_only=True, allow_none=True)

    def _content_url(self, video) -> str | None:
        return url_for("videos.video_content", video_id=video.id) if video.status == READY else None

    def _poster_url(self, video) -> str | None:
        return url_for("videos.video_poster", video_id=video.id) if video.status == READY else None

