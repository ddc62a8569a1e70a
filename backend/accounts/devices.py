"""Signed-in devices: the account's tokens and dashboard sessions (issue 21, item 6).

Each live token (an app's bearer token, a dashboard session) is listed with when it was made, when it was
last used (to the hour) and what it is called; the caller may end any of them. The token itself, or its
hash, is never shown.
"""
import marshmallow as ma
from flask import g
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import Select, select

from backend.accounts.blueprint import blp
from backend.accounts.models import Token, User
from backend.accounts.tokens import record_last_use, revoke_token
from backend.auth import current_user, login_required
from backend.db_types import utcnow
from backend.extensions import db
from backend.pagination import PageArgsSchema, page_schema, paginate

blp.after_app_request(record_last_use)  # every request's token, API or dashboard, after its response

BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
            ("Safari/", "Safari"))
SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
           ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


class DeviceSchema(ma.Schema):
    id = ma.fields.String(dump_only=True)
    kind = ma.fields.String(dump_only=True, metadata={"description": "api (an app's token) or dashboard"})
    device_name = ma.fields.String(dump_only=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    last_used_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True, metadata={
        "description": "to the hour"})
    current = ma.fields.Function(lambda token: token.id == g.current_token.id, dump_only=True, metadata={
        "description": "the token of this request"})


DevicePageSchema = page_schema(DeviceSchema, "DevicePage")


def live_tokens(user: User) -> Select:
    """The account's tokens and dashboard sessions that still work."""
    return select(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None), Token.expires_at > utcnow())


def revoke_device(user: User, token_id: str) -> bool:
    """Revoke one live token of the account; False when it has none with this id."""
    token = db.session.scalar(live_tokens(user).where(Token.id == token_id))
    if token is None:
        return False
    revoke_token(token)
    return True


def dashboard_device_name(user_agent: str) -> str:
    """'Dashboard (Firefox on Linux)' from a User-Agent: short, for the list of signed-in devices."""
    browser = next((name for marker, name in BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in SYSTEMS if marker in user_agent), None)
    described = " on ".join(part for part in (browser, system) if part)
    return f"Dashboard ({described})" if described else "Dashboard"


@blp.route("/me/tokens", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, DevicePageSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def list_devices(page_args):
    """The account's signed-in devices (app tokens and dashboard sessions), newest first"""
    return paginate(live_tokens(current_user()), Token.created_at, Token.id, page_args, newest_first=True)


@blp.route("/me/tokens/<token_id>", methods=["DELETE"])
@login_required
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def end_device(token_id):
    """Sign one device out: its token or dashboard session stops working"""
    if not revoke_device(current_user(), token_id):
        abort(404, message=gettext("No signed-in device of this account has this id."))
    db.session.commit()
