"""Care-team endpoints: invites and members of a child."""
from backend.auth import current_user, login_required
from backend.blueprints import Blueprint
from backend.care_teams import members
from backend.care_teams.access import OWN, READ, child_for
from backend.care_teams.models import Membership
from backend.care_teams.schemas import InviteArgsSchema, InviteSchema, MemberSchema
from backend.children.schemas import ChildSchema
from backend.clinic import audit
from backend.extensions import db
from backend.pagination import PageArgsSchema, page_schema, paginate

blp = Blueprint("care_teams", __name__, url_prefix="/api/v1",
                description="Care teams: invites and members")

MemberPageSchema = page_schema(MemberSchema, "MemberPage")


@blp.route("/children/<child_id>/invites", methods=["POST"])
@login_required
@blp.arguments(InviteArgsSchema)
@blp.response(201, InviteSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def create_invite(data, child_id):
    """Invite a caregiver or clinician by a single-use code (owner only, valid 7 days)"""
    child = child_for(current_user(), child_id, need=OWN)
    code, invite = members.create_invite(child, data["role"], current_user())
    db.session.commit()
    return {"code": code, "role": invite.role, "expires_at": invite.expires_at}


@blp.route("/invites/<code>/accept", methods=["POST"])
@login_required
@blp.response(200, ChildSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(410, response="GONE")
def accept_invite(code):
    """Join a child's care team with an invite code"""
    child = members.accept_invite(code, current_user())
    db.session.commit()
    return child


@blp.route("/children/<child_id>/members", methods=["GET"])
@login_required
@audit.audited_read
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, MemberPageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def list_members(page_args, child_id):
    """The child's care team"""
    child = child_for(current_user(), child_id, need=READ)
    return paginate(members.active_members(child), Membership.created_at, Membership.id,
                    page_args)


@blp.route("/children/<child_id>/members/<user_id>", methods=["DELETE"])
@login_required
@audit.audited_read
@blp.response(204)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def revoke_member(child_id, user_id):
    """Remove a member (owner), or leave the care team (the member themself)"""
    need = READ if user_id == current_user().id else OWN
    child = child_for(current_user(), child_id, need=need)
    members.revoke_member(child, user_id)
    db.session.commit()
