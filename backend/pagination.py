"""Keyset pagination: every list answers {"items": [...], "next_cursor": str | null}.

A cursor is base64 of the JSON [key, row id] of the last row of the page before: the key an instant with
offset, or a date (YYYY-MM-DD) for lists ordered by a day.
`decode_cursor` is the one decoder: a cursor it did not make (naive or out-of-range instant, an id
no row can have, JSON nested deep, not base64) is a 422 naming `cursor`, never a query.
"""
import base64
import binascii
import json
from datetime import UTC, date, datetime

import marshmallow as ma
from flask_babel import gettext
from sqlalchemy import and_, or_

from backend.extensions import db
from backend.i18n import N_
from backend.validation import CLIENT_ID

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_MAX_CHARS = 256  # the server's are about 140: an instant and an id of at most 64 characters
NOT_A_CURSOR = N_("Not a valid cursor: send next_cursor of the previous page as it came.")  # gettext where read


class Cursor(ma.fields.String):
    """next_cursor of the previous page, loaded as (instant in UTC, row id); empty is the first page."""

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[datetime | date, str] | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        return decode_cursor(text) if text else None


class PageArgsSchema(ma.Schema):
    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT,
                              validate=ma.validate.Range(min=1, max=MAX_LIMIT))
    cursor = Cursor(metadata={"description": "next_cursor of the previous page"})


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page of item_schema, named for the OpenAPI spec."""
    return ma.Schema.from_dict({
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "next_cursor": ma.fields.String(required=True, allow_none=True),
    }, name=name)


def encode_cursor(key: datetime | date, row_id: str) -> str:
    raw = json.dumps([key.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | date, str]:
    """The (instant or date, row id) an encode_cursor made, or a ValidationError."""
    if len(cursor) > CURSOR_MAX_CHARS:
        raise ma.ValidationError(gettext(NOT_A_CURSOR))
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()  # strict UTF-8: no surrogates
        key, row_id = json.loads(raw)
        if not CLIENT_ID.fullmatch(row_id):
            raise ValueError("not an id")
        return _key(key), row_id
    except (binascii.Error, ValueError, TypeError, OverflowError, RecursionError):
        raise ma.ValidationError(gettext(NOT_A_CURSOR)) from None


def _key(text: str) -> datetime | date:
    """A date as YYYY-MM-DD, else an instant with its offset (in UTC); a naive instant is no key."""
    if len(text) == 10:
        return date.fromisoformat(text)
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError("naive instant")
    return instant.astimezone(UTC)


def paginate(stmt, key_column, id_column, page_args: dict, newest_first: bool = False) -> dict:
    """Run stmt ordered by (key_column, id_column) from the cursor (PageArgsSchema's, decoded) on."""
    limit = page_args["limit"]
    if cursor := page_args.get("cursor"):
        key, row_id = cursor
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
