"""The audit log of clinician access: every view of a child's data by a clinician, kept, and shown to the owner.

`child_for` (every API, export and dashboard read of a child goes through it) notes a clinician's view
on the request; after a successful response the views are written in a short write transaction of
their own, so a read request never upgrades its read transaction into a write.
"""
from flask import Flask, g, request
from sqlalchemy import insert

from backend.clinic.models import AccessEvent
from backend.database import writing_transactions
from backend.db_types import new_id, utcnow
from backend.extensions import db


def note_view(user_id: str, child_id: str) -> None:
    """Remember, for this request, that a clinician viewed this child's data."""
    action = request.endpoint or request.path
    g.setdefault("audit_views", {})[(user_id, child_id)] = action[:40]


def _write_views(response):
    views = g.pop("audit_views", None)
    if views and response.status_code < 400:
        db.session.rollback()  # end the request's read transaction; the views go in a write of their own
        at = utcnow()
        with writing_transactions():
            db.session.execute(insert(AccessEvent), [
                {"id": new_id(), "user_id": user_id, "child_id": child_id, "action": action, "at": at}
                for (user_id, child_id), action in views.items()])
            db.session.commit()
    return response


def install(app: Flask) -> None:
    app.after_request(_write_views)
