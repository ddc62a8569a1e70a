"""The one JSON error shape: {"code", "status", "message", "errors"?}."""
import logging

import marshmallow as ma
from flask import current_app
from flask_babel import format_number, gettext
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Conflict, HTTPException

from backend.i18n import N_

log = logging.getLogger(__name__)


class ErrorSchema(ma.Schema):
    """Every error the API returns has this shape."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP status name"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong"})
    errors = ma.fields.Dict(
        metadata={"description": "Field-level messages, keyed by field name"})


def _field_errors(messages: dict) -> dict:
    """webargs keys messages by location ({"json": {...}}); clients want the fields."""
    merged: dict = {}
    for location_messages in messages.values():
        if isinstance(location_messages, dict):
            merged.update(location_messages)
        else:
            merged.setdefault("_schema", []).extend(location_messages)
    return merged


# The message of an error raised without one (a route not found, a method not allowed, a rate limit), in place of
# Werkzeug's English descriptions
GENERIC = {400: N_("The request could not be understood."), 401: N_("Sign in first: this needs a valid token."),
           403: N_("You may not do this."), 404: N_("Nothing was found at this address."),
           405: N_("This method is not allowed here."), 409: N_("The request conflicts with data already stored."),
           410: N_("This is no longer available."), 429: N_("Too many requests: please wait a moment and try again.")}


def _message_for(error: HTTPException) -> str:
    """In the reader's language (backend/i18n.py); `code`, `status` and field names never change."""
    if error.code == 413:
        return gettext("The request body is larger than the limit of %(limit)s bytes.",
                       limit=format_number(current_app.config["MAX_CONTENT_LENGTH"]))
    if error.code == 500:
        return gettext("Internal server error.")
    if error.code == 422:
        return gettext("The request is not valid; see errors for each field.")
    if error.description == type(error).description and error.code in GENERIC:  # Werkzeug's English default
        return gettext(GENERIC[error.code])
    return error.description or error.name


def error_payload(error: HTTPException):
    """Turn any HTTPException (routing, abort, webargs, 500) into the error shape."""
    data = getattr(error, "data", None) or {}
    payload = {"code": error.code, "status": error.name,
               "message": data.get("message") or _message_for(error)}
    if "errors" in data:
        payload["errors"] = data["errors"]
    elif "messages" in data:
        payload["errors"] = _field_errors(data["messages"])
    headers = dict(data.get("headers") or {})
    if error.code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    if error.code == 429 and hasattr(error, "get_headers"):
        headers.update({k: v for k, v in error.get_headers() if k == "Retry-After"})
    return payload, error.code, headers


def register_error_handlers(app, session) -> None:
    """IntegrityError -> 409, the failed transaction rolled back first.

    The session is handed in by create_app: backend.extensions needs this module's error shape."""
    def handle_integrity_error(error: IntegrityError):
        session.rollback()
        log.info("integrity error turned into 409: %s", error.orig)
        return error_payload(Conflict())  # GENERIC[409], in the reader's language

    app.register_error_handler(IntegrityError, handle_integrity_error)
