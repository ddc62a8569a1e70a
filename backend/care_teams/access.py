"""Who may see and change a child: members of its care team, by role.

A child the caller is not an active member of answers 404, as if it did not exist. Checking records
nothing: a clinician's read is noted for the access log where it is served (backend.clinic.audit).
"""
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import bindparam, select

from backend.care_teams.models import Membership
from backend.children.models import Child
from backend.extensions import db

READ, WRITE, OWN = "read", "write", "own"


_MEMBERSHIP_AND_CHILD = select(Membership, Child).join(Child, Child.id == Membership.child_id).where(
    Membership.user_id == bindparam("user_id"), Membership.child_id == bindparam("child_id"),
    Membership.revoked_at.is_(None), Child.deleted_at.is_(None))  # built once: most requests run it


def _membership_and_child(user_id: str, child_id: str):
    """(membership, child) for an active member of a live child, or None."""
    return db.session.execute(_MEMBERSHIP_AND_CHILD, {"user_id": user_id, "child_id": child_id}).first()


def active_membership(user_id: str, child_id: str) -> Membership | None:
    found = _membership_and_child(user_id, child_id)
    return found[0] if found else None


def visible_children(user_id: str):
    """A select of the children the user may read."""
    return select(Child).join(Membership, Membership.child_id == Child.id).where(
        Membership.user_id == user_id, Membership.revoked_at.is_(None),
        Child.deleted_at.is_(None))


def child_for(user, child_id: str, need: str = READ) -> Child:
    """The child if the user may do what `need` says, else 404 (not a member) or 403."""
    found = _membership_and_child(user.id, child_id)
    if found is None:
        abort(404, message=gettext("No such child."))
    membership, child = found
    if need == WRITE and not membership.can_write:
        abort(403, message=gettext("Clinicians read and annotate; only caregivers change the diary."))
    if need == OWN and membership.role != "owner":
        abort(403, message=gettext("Only the child's owner may do this."))
    return child
