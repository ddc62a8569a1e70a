"""Liveness and readiness probes for load balancers and orchestrators."""
import marshmallow as ma
from flask_smorest import abort
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from backend.blueprints import Blueprint
from backend.extensions import db

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
    """The process can serve: the database answers"""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        abort(503, message="The database does not answer.", errors={"database": ["unreachable"]})
    return {"status": "ok", "checks": {"database": "ok"}}
