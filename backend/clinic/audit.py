"""The audit log of clinician access: every view of a child's data by a clinician, kept, and shown to the owner.

A read is noted where it is served: `child_for` notes the one child of a route, the lists (GET /children,
the sync pull, the dashboard's patient list) note every child whose data they return. After a
successful response the request's views, one per child, are written in one batched INSERT, in a short
write transaction of their own, so a read request never upgrades its read transaction into a write.
"""
from collections.abc import Iterable

from flask import Flask, g, request
from sqlalchemy import bindparam, insert, select

from backend.accounts.models import User
from backend.care_teams.models import Membership
from backend.clinic.models import AccessEvent
from backend.database import writing_transactions
from backend.db_types import new_id, utcnow
from backend.extensions import db

_CLINICIAN_OF = select(Membership.child_id).where(
    Membership.user_id == bindparam("user_id"), Membership.role == "clinician", Membership.revoked_at.is_(None))


def note_views(user_id: str, child_ids: Iterable[str]) -> None:
    """Remember, for this request, that a clinician viewed these children's data."""
    action = (request.endpoint or request.path)[:40]
    views = g.setdefault("audit_views", {})
    for child_id in child_ids:
        views[(user_id, child_id)] = action


def note_view(user_id: str, child_id: str) -> None:
    note_views(user_id, (child_id,))


def note_clinician_views(user: User, child_ids: Iterable[str]) -> None:
    """Note the views of those of the children the user reads as one of their clinicians.

    Only clinician accounts hold clinician memberships (an invite's role is the account's), so a
    caregiver's read costs no query."""
    if user.role != "clinician":
        return
    shown = set(child_ids)
    if shown:
        note_views(user.id, shown.intersection(db.session.scalars(_CLINICIAN_OF, {"user_id": user.id})))


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
