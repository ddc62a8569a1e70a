"""Care teams: invites by single-use code, accepting, listing and revoking members."""
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import select, update

from backend.accounts.models import User
from backend.accounts.tokens import digest
from backend.care_teams.models import Invite, Membership
from backend.children.models import Child
from backend.db_types import utcnow
from backend.extensions import db

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_GROUPS, CODE_GROUP_LENGTH = 4, 4


def normalize_code(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def _new_code() -> str:
    groups = ("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH))
              for _ in range(CODE_GROUPS))
    return "-".join(groups)


def create_invite(child: Child, role: str, inviter: User) -> tuple[str, Invite]:
    code = _new_code()
    lifetime = timedelta(days=current_app.config["INVITE_LIFETIME_DAYS"])
    invite = Invite(code_hash=digest(normalize_code(code)), child_id=child.id, role=role,
                    created_by_id=inviter.id, expires_at=utcnow() + lifetime)
    db.session.add(invite)
    return code, invite


def _usable_invite(code: str) -> Invite:
    invite = db.session.scalar(select(Invite).where(Invite.code_hash == digest(normalize_code(code))))
    child = invite and db.session.get(Child, invite.child_id)
    if invite is None or child.deleted_at is not None:
        abort(404, message=gettext("No such invite code."))
    if invite.accepted_at is not None:
        abort(410, message=gettext("This invite code has already been used."))
    if invite.expires_at <= utcnow():
        abort(410, message=gettext("This invite code has expired; ask for a new one."))
    return invite


def accept_invite(code: str, user: User) -> Child:
    """Join the invite's care team; the code is spent atomically, so it works once."""
    invite = _usable_invite(code)
    if invite.role != user.role:
        abort(403, message=_wrong_role(invite.role))
    membership = db.session.scalar(select(Membership).where(
        Membership.child_id == invite.child_id, Membership.user_id == user.id))
    if membership is not None and membership.revoked_at is None:
        abort(409, message=gettext("You are already a member of this child's care team."))
    spent = db.session.execute(
        update(Invite).where(Invite.id == invite.id, Invite.accepted_at.is_(None))
        .values(accepted_at=utcnow(), accepted_by_id=user.id))
    if spent.rowcount != 1:
        abort(410, message=gettext("This invite code has already been used."))
    _grant(membership, invite, user)
    return db.session.get(Child, invite.child_id)


def _wrong_role(invite_role: str) -> str:
    """Why an account of the other role cannot accept the invite (INVITE_ROLES: one sentence for each)."""
    if invite_role == "clinician":
        return gettext("This invite is for a clinician; this account is a caregiver.")
    return gettext("This invite is for a caregiver; this account is a clinician.")


def _grant(membership: Membership | None, invite: Invite, user: User) -> None:
    if membership is None:
        db.session.add(Membership(child_id=invite.child_id, user_id=user.id, role=invite.role))
        return
    membership.role, membership.revoked_at, membership.created_at = invite.role, None, utcnow()


def active_members(child: Child):
    return select(Membership).where(Membership.child_id == child.id,
                                    Membership.revoked_at.is_(None))


def revoke_member(child: Child, user_id: str) -> None:
    membership = db.session.scalar(active_members(child).where(Membership.user_id == user_id))
    if membership is None:
        abort(404, message=gettext("No such member of this care team."))
    if membership.role == "owner":
        abort(409, message=gettext("The owner cannot be removed from the care team."))
    membership.revoked_at = utcnow()
