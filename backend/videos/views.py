"""Episode videos over HTTP: the tus 1.0 upload (/uploads) and reading, playing, deleting (/videos).

  OPTIONS|POST /uploads             what the server speaks; create an upload (SYNC_SCHEMA.md, "Videos")
  HEAD|PATCH|DELETE /uploads/{id}   its offset; append bytes; abandon it
  GET /episodes/{id}/videos         an episode's videos (the care team)
  GET|DELETE /videos/{id}           one video; delete it and its files (caregivers)
  GET /videos/{id}/content          the processed MP4, with HTTP Range
  GET /videos/{id}/poster.jpg       its still
"""
from flask import Response, current_app, request
from flask_babel import gettext
from flask_smorest import abort

from backend.auth import current_user, login_required
from backend.blueprints import Blueprint
from backend.care_teams.access import READ, WRITE
from backend.clinic import audit
from backend.database import commit_keeping_loaded
from backend.diary.entries import entry_for
from backend.diary.models import Episode
from backend.extensions import db
from backend.pagination import PageArgsSchema, page_schema, paginate
from backend.videos import lifecycle, uploads
from backend.videos.models import PROCESSING, READY, REJECTED, UPLOADING, EpisodeVideo
from backend.videos.playback import send_object
from backend.videos.schemas import VideoSchema
from backend.videos.storage import storage

blp = Blueprint("videos", __name__, url_prefix="/api/v1",
                description="Episode videos: tus 1.0 resumable uploads, playback with HTTP Range")
TUS_HEADERS_DOC = {"Tus-Resumable": {"description": "1.0.0", "schema": {"type": "string"}}}


@blp.after_request
def _tus_resumable(response: Response) -> Response:
    if request.path.startswith("/api/v1/uploads"):
        response.headers.update(uploads.tus_headers())
    return response


# ---- tus -----------------------------------------------------------------------------------------

@blp.route("/uploads", methods=["OPTIONS"])
@blp.response(204, headers={"Tus-Version": {"schema": {"type": "string"}},
                            "Tus-Extension": {"schema": {"type": "string"}},
                            "Tus-Max-Size": {"schema": {"type": "integer"}}})
@blp.doc(security=[], summary="What the upload endpoint speaks (tus 1.0 discovery)")
def upload_options():
    """The tus version, extensions, checksum algorithms and the largest upload accepted"""
    return "", 204, {"Tus-Version": uploads.TUS_VERSION, "Tus-Extension": uploads.EXTENSIONS,
                     "Tus-Max-Size": str(current_app.config["VIDEO_MAX_BYTES"]),
                     "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUMS)}


@blp.route("/uploads", methods=["POST"])
@login_required
@blp.response(201, headers={"Location": {"schema": {"type": "string"}}, **TUS_HEADERS_DOC})
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(412, response="PRECONDITION_FAILED")
@blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.doc(summary="Start uploading an episode's video (caregivers; tus creation)",
         parameters=[{"in": "header", "name": "Upload-Length", "required": True, "schema": {"type": "integer"}},
                     {"in": "header", "name": "Upload-Metadata", "required": True, "schema": {"type": "string"},
                      "description": "id, episode_id, filename, filetype: base64 values"}])
def create_upload():
    """Upload-Metadata holds the video's id (chosen by the phone) and its episode_id; a retried creation of the
    same id and length answers the same Location"""
    uploads.check_tus_version(request.headers)
    creation = uploads.parse_creation(request.headers)
    video, created = uploads.create_upload(current_user(), creation)
    commit_keeping_loaded()
    location = f"/api/v1/uploads/{video.id}"
    return "", 201, {"Location": location, **uploads.tus_headers(video)}


@blp.route("/uploads/<video_id>", methods=["HEAD"])
@login_required
@blp.response(200, headers={"Upload-Offset": {"schema": {"type": "integer"}},
                            "Upload-Length": {"schema": {"type": "integer"}}})
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(410, response="GONE")
@blp.alt_response(412, response="PRECONDITION_FAILED")
@blp.doc(summary="How many bytes of the upload arrived (tus)")
def upload_offset(video_id):
    """The offset to resume from"""
    uploads.check_tus_version(request.headers)
    video = uploads.upload_for(current_user(), video_id)
    return "", 200, uploads.tus_headers(video)


@blp.route("/uploads/<video_id>", methods=["PATCH"])
@login_required
@blp.response(204, headers={"Upload-Offset": {"schema": {"type": "integer"}}})
@blp.alt_response(400, response="BAD_REQUEST")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(410, response="GONE")
@blp.alt_response(412, response="PRECONDITION_FAILED")
@blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(423, response="LOCKED", description="Another request is uploading to this video now")
@blp.alt_response(460, response="CHECKSUM_MISMATCH")
@blp.doc(summary="Append bytes at Upload-Offset (tus); the last byte starts processing",
         requestBody={"content": {"application/offset+octet-stream": {"schema": {"type": "string",
                                                                                 "format": "binary"}}}},
         parameters=[{"in": "header", "name": "Upload-Offset", "required": True, "schema": {"type": "integer"}},
                     {"in": "header", "name": "Upload-Checksum", "schema": {"type": "string"},
                      "description": "optional: sha1|sha256|md5 and the base64 digest of this PATCH's body"}])
def append_to_upload(video_id):
    """A body cut off mid-way keeps what arrived: ask HEAD and resume from there"""
    uploads.check_tus_version(request.headers)
    video = uploads.upload_for(current_user(), video_id)
    if request.mimetype != "application/offset+octet-stream":
        abort(415, message=gettext("Send the bytes as Content-Type: application/offset+octet-stream."))
    offset = request.headers.get("Upload-Offset", "")
    if not offset.isdigit():
        abort(400, message=gettext("Upload-Offset must be a whole number."),
              errors={"Upload-Offset": [gettext("Missing or not a number.")]})
    offset = int(offset)
    digest, expected = uploads.expected_checksum(request.headers.get("Upload-Checksum"))
    writer = uploads.take_upload(video, offset)
    request.max_content_length = video.upload_length - offset + 1  # one byte more: Body tells a longer body (413)
    body = uploads.Body(request.stream, video.upload_length - offset, digest)
    size, key = uploads.receive_chunk(video.id, offset, writer, body)
    if body.too_long or (expected is not None and not body.cut and digest.digest() != expected):
        uploads.release(video.id, writer)
        storage().delete(key) if key else None
        if body.too_long:
            abort(413, message=gettext("The body runs past Upload-Length."))
        raise uploads.ChecksumMismatch()
    uploads.record_chunk(video, offset, writer, size, key)
    return "", 204, uploads.tus_headers(video)


@blp.route("/uploads/<video_id>", methods=["DELETE"])
@login_required
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(412, response="PRECONDITION_FAILED")
@blp.doc(summary="Abandon an upload (tus termination); its bytes are removed")
def terminate_upload(video_id):
    """The video is deleted with what arrived of it"""
    uploads.check_tus_version(request.headers)
    video = db.session.get(EpisodeVideo, video_id) if uploads.CLIENT_ID.fullmatch(video_id) else None
    if video is None or video.deleted_at is not None or video.uploaded_by != current_user().id:
        abort(404, message=gettext("No such upload."))
    _delete(video)


# ---- reading and deleting -------------------------------------------------------------------------

def video_for(video_id: str, need: str = READ) -> EpisodeVideo:
    """A live video of an episode the caller may `need` (the care team reads, caregivers write), else 404."""
    video = db.session.get(EpisodeVideo, video_id) if uploads.CLIENT_ID.fullmatch(video_id) else None
    if video is None or video.deleted_at is not None:
        abort(404, message=gettext("No such video."))
    entry_for(current_user(), Episode, video.episode_id, need=need)
    return video


@blp.route("/episodes/<episode_id>/videos", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_schema(VideoSchema, "VideoPage"))
@blp.alt_response(404, response="NOT_FOUND")
@blp.doc(summary="The episode's videos, oldest first")
def list_videos(args, episode_id):
    """Videos being uploaded, processed, ready or rejected (with the reason)"""
    episode = entry_for(current_user(), Episode, episode_id, need=READ)
    audit.note_clinician_view(current_user(), episode.child_id)
    query = db.select(EpisodeVideo).where(EpisodeVideo.episode_id == episode.id, EpisodeVideo.deleted_at.is_(None))
    return paginate(query, EpisodeVideo.created_at, EpisodeVideo.id, args)


@blp.route("/videos/<video_id>", methods=["GET"])
@login_required
@blp.response(200, VideoSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.doc(summary="One video's metadata")
def get_video(video_id):
    video = video_for(video_id)
    audit.note_clinician_view(current_user(), video.child_id)
    return video


@blp.route("/videos/<video_id>", methods=["DELETE"])
@login_required
@blp.response(204)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.doc(summary="Delete a video and its files (caregivers); phones get the deletion at their next sync")
def delete_video(video_id):
    _delete(video_for(video_id, need=WRITE))


def _delete(video: EpisodeVideo) -> None:
    video_id = video.id
    lifecycle.delete_videos([video])
    db.session.commit()
    lifecycle.sweep(video_ids=[video_id])


@blp.route("/videos/<video_id>/content", methods=["GET"])
@login_required
@blp.response(200, description="The MP4; a Range request answers 206 with Content-Range")
@blp.alt_response(206, description="Part of the MP4")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(416, response="REQUESTED_RANGE_NOT_SATISFIABLE")
@blp.doc(summary="Play the video (HTTP Range)")
def video_content(video_id):
    """Every clinician playback is in the child's access log"""
    return send_video(video_id, "media_key")


@blp.route("/videos/<video_id>/poster.jpg", methods=["GET"])
@login_required
@blp.response(200, description="A JPEG still from the first second")
@blp.alt_response(404, response="NOT_FOUND")
@blp.doc(summary="The video's still")
def video_poster(video_id):
    return send_video(video_id, "poster_key")


def _not_playable(status: str) -> str:
    """Why a video has no file to play yet, by its status (uploading, processing, rejected)."""
    if status == UPLOADING:
        return gettext("No playable file yet: the video is uploading.")
    if status == PROCESSING:
        return gettext("No playable file yet: the video is processing.")
    if status == REJECTED:
        return gettext("No playable file yet: the video is rejected.")
    return gettext("No playable file yet.")


def send_video(video_id: str, key_column: str) -> Response:
    """The ready video's file (`media_key`) or still (`poster_key`) to a member of its care team, else 404;
    a clinician's read goes in the access log. The API's routes and the dashboard's both serve through it."""
    video = video_for(video_id)
    if video.status != READY or getattr(video, key_column) is None:
        abort(404, message=_not_playable(video.status))
    audit.note_clinician_view(current_user(), video.child_id)
    key = getattr(video, key_column)
    content_type = video.content_type if key_column == "media_key" else "image/jpeg"
    etag = f"{video.id}-{video.version}-{key_column[0]}"
    db.session.commit()  # no transaction stays open while the bytes go out
    return send_object(storage(), key, content_type, etag)

