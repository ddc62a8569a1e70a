"""Children: create, list, read, update, soft-delete."""
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy.orm import selectinload

from backend.auth import current_user, login_required
from backend.blueprints import Blueprint
from backend.care_teams.access import OWN, READ, WRITE, child_for, visible_children
from backend.care_teams.models import Membership
from backend.children.models import Child
from backend.children.schemas import ChildSchema, child_patch_schema
from backend.clinic import audit
from backend.extensions import db
from backend.pagination import PageArgsSchema, page_schema, paginate
from backend.trends.freshness import ensure_fresh

blp = Blueprint("children", __name__, url_prefix="/api/v1", description="Children")

ChildPageSchema = page_schema(ChildSchema, "ChildPage")


@blp.route("/children", methods=["POST"])
@login_required
@blp.arguments(ChildSchema)
@blp.response(201, ChildSchema)
@blp.alt_response(403, response="FORBIDDEN")
def create_child(data):
    """Add a child; the caregiver who adds it owns its care team"""
    user = current_user()
    if user.role != "caregiver":
        abort(403, message=gettext("Only caregivers add children; ask the family for an invite code."))
    child = Child(owner_id=user.id, **data)
    db.session.add(child)
    db.session.add(Membership(child=child, user_id=user.id, role="owner"))
    db.session.commit()
    ensure_fresh(db.session, [child.id])
    return child


@blp.route("/children", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, ChildPageSchema)
def list_children(page_args):
    """The children of the user's care teams, each with its fresh summary"""
    user = current_user()
    children = visible_children(user.id).options(selectinload(Child.summary))
    page = paginate(children, Child.created_at, Child.id, page_args)
    listed = [child.id for child in page["items"]]
    ensure_fresh(db.session, listed)
    audit.note_clinician_views(user, listed)
    return page


@blp.route("/children/<child_id>", methods=["GET"])
@login_required
@audit.audited_read
@blp.response(200, ChildSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_child(child_id):
    """One child"""
    child = child_for(current_user(), child_id, need=READ)
    ensure_fresh(db.session, [child.id])
    return child


@blp.route("/children/<child_id>", methods=["PATCH"])
@login_required
@blp.arguments(child_patch_schema)
@blp.response(200, ChildSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def update_child(data, child_id):
    """Change some of a child's fields (caregivers)"""
    child = child_for(current_user(), child_id, need=WRITE)
    for field, value in data.items():
        setattr(child, field, value)
    db.session.commit()
    ensure_fresh(db.session, [child.id])
    return child


@blp.route("/children/<child_id>", methods=["DELETE"])
@login_required
@blp.response(204)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def delete_child(child_id):
    """Delete a child (owner); the record is kept as a tombstone for the phones"""
    child = child_for(current_user(), child_id, need=OWN)
    child.mark_deleted()
    db.session.commit()
