"""GET /api/v1/sync (pull) and POST /api/v1/sync (push): WatermelonDB's sync protocol."""
from functools import wraps

import orjson
from flask import current_app

from backend.auth import authenticate, current_user, login_required
from backend.blueprints import Blueprint
from backend.clinic import audit
from backend.database import begin_snapshot
from backend.extensions import db
from backend.sync.phones import Phone
from backend.sync.pull import pull_changes
from backend.sync.push import push_changes
from backend.sync.schemas import ChangesSchema, EmptySchema, PullArgsSchema, PullSchema, PushArgsSchema
from backend.videos import lifecycle

blp = Blueprint("sync", __name__, url_prefix="/api/v1", description="Phone sync (WatermelonDB)")


def snapshot_then_login(view):
    """login_required, with the token read inside the pull's snapshot: one transaction less."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        begin_snapshot()
        authenticate()
        return view(*args, **kwargs)
    return wrapper


@blp.route("/sync", methods=["GET"])
@snapshot_then_login
@blp.arguments(PullArgsSchema, location="query")
@blp.alt_response(200, schema=PullSchema, success=True, description="Changes since last_pulled_at")
@blp.alt_response(401, response="UNAUTHORIZED")
def pull(args):
    """Pull every change since last_pulled_at, with the timestamp to send next time"""
    user_id = current_user().id
    migration = args["migration"]
    phone = Phone(args["last_pulled_at"], args["device_id"], args["schema_version"],
                  migration.tables if migration is not None else ())
    pulled = pull_changes(user_id, phone)
    db.session.commit()  # ends the snapshot; a ROLLBACK would also drop psycopg's prepared statements
    audit.note_views(user_id, pulled.read_as_clinician)
    # orjson: a first pull is thousands of rows, which the standard library encodes about ten times slower
    return current_app.response_class(orjson.dumps(pulled.body), mimetype="application/json")


@blp.route("/sync", methods=["POST"])
@blp.any_content_type
@login_required
@blp.arguments(PushArgsSchema, location="query")
@blp.arguments(ChangesSchema)
@blp.response(200, EmptySchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
def push(args, changes):
    """Push the phone's changes: all stored, or none (409 when the server changed meanwhile)"""
    pushed = push_changes(current_user(), changes, Phone(args["last_pulled_at"], args["device_id"]))
    db.session.commit()
    if pushed.deleted_videos:  # their files go once the deletion is committed (else at the video job's next pass)
        lifecycle.sweep(video_ids=pushed.deleted_videos)
    return {}
