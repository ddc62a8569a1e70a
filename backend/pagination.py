"""Keyset pagination: every list answers {"items": [...], "next_cursor": str | null}."""
import base64
import binascii
import json
from datetime import datetime

import marshmallow as ma
from flask_smorest import abort
from sqlalchemy import and_, or_

from backend.extensions import db

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PageArgsSchema(ma.Schema):
    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT,
                              validate=ma.validate.Range(min=1, max=MAX_LIMIT))
    cursor = ma.fields.String(metadata={"description": "next_cursor of the previous page"})


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page of item_schema, named for the OpenAPI spec."""
    return ma.Schema.from_dict({
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "next_cursor": ma.fields.String(required=True, allow_none=True),
    }, name=name)


def encode_cursor(key: datetime, row_id: str) -> str:
    raw = json.dumps([key.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, row_id = json.loads(raw)
        return datetime.fromisoformat(key), str(row_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        abort(422, errors={"cursor": ["Not a valid cursor."]})


def paginate(stmt, key_column, id_column, page_args: dict, newest_first: bool = False) -> dict:
    """Run stmt ordered by (key_column, id_column) from the cursor on."""
    limit = page_args["limit"]
    if cursor := page_args.get("cursor"):
        key, row_id = decode_cursor(cursor)
        stmt = stmt.where(_after(key_column, id_column, key, row_id, newest_first))
    order = (key_column.desc(), id_column.desc()) if newest_first else (key_column, id_column)
    rows = db.session.scalars(stmt.order_by(*order).limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, key_column.key), getattr(last, id_column.key))
    return {"items": rows, "next_cursor": next_cursor}


def _after(key_column, id_column, key, row_id, newest_first: bool):
    if newest_first:
        return or_(key_column < key, and_(key_column == key, id_column < row_id))
    return or_(key_column > key, and_(key_column == key, id_column > row_id))
