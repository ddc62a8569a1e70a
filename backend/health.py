"""Liveness and readiness probes for load balancers and orchestrators."""
from datetime import timedelta

import marshmallow as ma
from flask import current_app
from flask_smorest import abort
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from backend.blueprints import Blueprint
from backend.db_types import utcnow
from backend.extensions import db
from backend.reminders.models import SchedulerHeartbeat

blp = Blueprint("health", __name__, description="Health probes")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


@blp.route("/healthz", methods=["GET"])
@blp.doc(security=[])
@blp.response(200, HealthSchema)
def healthz():
    """The process answers"""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.doc(security=[])
@blp.response(200, HealthSchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def readyz():
    """The process can serve: the database answers and the scheduler's heartbeat is fresh"""
    try:
        db.session.execute(text("SELECT 1"))
        beat = db.session.get(SchedulerHeartbeat, "scheduler")
    except SQLAlchemyError:
        db.session.rollback()
        abort(503, message="The database does not answer.", errors={"database": ["unreachable"]})
    scheduler = _scheduler_state(beat)
    if scheduler == "stale":
        abort(503, message="The scheduler has not written its heartbeat for too long.",
              errors={"scheduler": [f"last heartbeat {beat.beat_at.isoformat()}"]})
    return {"status": "ok", "checks": {"database": "ok", "scheduler": scheduler}}


def _scheduler_state(beat: SchedulerHeartbeat | None) -> str:
    """ok, stale, or absent (no scheduler has run against this database: a web-only set-up)."""
    if beat is None:
        return "absent"
    stale_after = timedelta(seconds=current_app.config["SCHEDULER_HEARTBEAT_STALE_SECONDS"])
    return "stale" if utcnow() - beat.beat_at > stale_after else "ok"
