"""GET /api/v1/me/export (the family document) and DELETE /api/v1/me (delete the account)."""
from flask import current_app
from flask_babel import gettext
from flask_smorest import abort

from backend.accounts.tokens import user_for_credentials
from backend.auth import current_user, login_required
from backend.blueprints import Blueprint
from backend.database import begin_snapshot
from backend.extensions import db, limiter
from backend.privacy.deletion import delete_account
from backend.privacy.document import build_document
from backend.privacy.schemas import DeleteAccountSchema, FamilyDocumentSchema

blp = Blueprint("privacy", __name__, url_prefix="/api/v1", description="Privacy: export and delete your data")

DOWNLOAD_HEADER = {"Content-Disposition": {
    "description": 'attachment; filename="myodiary-family-YYYY-MM-DD.json"', "schema": {"type": "string"}}}


def _wrong_password(response) -> bool:
    return response.status_code == 403


def _account_key() -> str:
    """Guesses count per account, however its token is spelled or however many tokens it holds."""
    return f"delete-account:{current_user().id}"


@blp.route("/me/export", methods=["GET"])
@login_required
@blp.response(200, FamilyDocumentSchema, headers=DOWNLOAD_HEADER,
              description="The family document (format myodiary-family, version 1) as a JSON download")
@blp.alt_response(401, response="UNAUTHORIZED")
def export_my_data():
    """Everything this account logged: the account and the children it cares for, with their diaries"""
    user = current_user()
    begin_snapshot()  # one consistent read of every table
    document = build_document(user)
    filename = f"myodiary-family-{document['exported_at'].date().isoformat()}.json"
    return document, 200, {"Content-Disposition": f'attachment; filename="{filename}"'}


@blp.route("/me", methods=["DELETE"])
@login_required  # first: the throttle below counts per signed-in account
@limiter.limit(lambda: current_app.config["SIGNIN_FAILURES_PER_ACCOUNT"], key_func=_account_key,
               deduct_when=_wrong_password, scope="delete-account")
@blp.arguments(DeleteAccountSchema)
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def delete_my_account(data):
    """Delete this account (password asked again): tokens revoked, owned children deleted, the rest purged later"""
    user = current_user()
    confirmed = user_for_credentials(user.email, data["password"])
    if confirmed is None or confirmed.id != user.id:
        abort(403, message=gettext("Wrong password; nothing was deleted."),
              errors={"password": [gettext("Wrong password.")]})
    delete_account(user)
    db.session.commit()
