"""Request and response bodies of care teams: invites and members."""
import marshmallow as ma
from marshmallow import fields, validate

import backend.validation  # noqa: F401 (first: validators made here carry messages in the reader's language)
from backend.care_teams.models import INVITE_ROLES, MEMBER_ROLES


class InviteArgsSchema(ma.Schema):
    role = fields.String(required=True, validate=validate.OneOf(INVITE_ROLES))


class InviteSchema(ma.Schema):
    code = fields.String(required=True, metadata={"description": "Give this code to the invitee; single use"})
    role = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)


class MemberSchema(ma.Schema):
    user_id = fields.String(required=True)
    name = fields.String(required=True, attribute="user.name")
    email = fields.String(required=True, attribute="user.email")
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))
    joined_at = fields.AwareDateTime(required=True, attribute="created_at")
