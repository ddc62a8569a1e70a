"""The audit log of clinician access: every view of a child's data by a clinician, kept, and shown to the owner.

A read is noted where it is served, never by the access check: a route of one child's data carries
`audited_read`, a diary entry read by its id notes its child, and the lists (GET /children, the sync
pull, the dashboard's patient list) note every child whose data they return. After a successful
response the request's views, one per child, are written in one batched INSERT, in a short write
transaction of their own, so a read request never upgrades its read transaction into a write.
"""
from collections.abc import Iterable
from functools import wraps

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
_CLINICIAN_OF_CHILD = _CLINICIAN_OF.where(Membership.child_id == bindparam("child_id"))


def note_views(user_id: str, child_ids: Iterable[str]) -> None:
    """Remember, for this request, that a clinician viewed these children's data."""
    action = (request.endpoint or request.path)[:40]
    views = g.setdefault("audit_views", {})
    for child_id in child_ids:
        views[(user_id, child_id)] = action


def note_clinician_view(user: User, child_id: str) -> None:
    """Note the view of one child's data when the user is one of its clinicians (a caregiver's costs no query)."""
    if user.role == "clinician" and db.session.scalar(_CLINICIAN_OF_CHILD, {"user_id": user.id, "child_id": child_id}):
        note_views(user.id, (child_id,))


def audited_read(view):
    """A route of the data of the child in its path: a call by one of the child's clinicians is in the access log.

    Noted before the view runs, while the caller is still a member (leaving the team is logged too), and written
    only after a successful response: the view's access check (child_for) answers anyone else 404 or 403."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        note_clinician_view(g.current_user, request.view_args["child_id"])
        return view(*args, **kwargs)
    return wrapper


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
