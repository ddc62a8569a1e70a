"""The sync endpoints' query arguments and bodies (WatermelonDB's protocol)."""
import marshmallow as ma
from marshmallow import fields, validate

from backend.validation import Place, escape_lone_surrogates, validate_client_id

A_VERSION = validate.Range(min=0, max=2**63 - 1)  # BIGINT columns: a larger version cannot even be compared


class NullableVersion(fields.Integer):
    """The phone sends `null` (or nothing) before its first pull, as text in the URL."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value in ("", "null", "undefined"):
            value = None
        return super().deserialize(value, attr, data, **kwargs)


class PullArgsSchema(ma.Schema):
    last_pulled_at = NullableVersion(
        load_default=None, allow_none=True, validate=A_VERSION,
        metadata={"description": "timestamp of the last pull; null or absent for everything"})
    schema_version = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1))
    migration = fields.String(load_default=None, allow_none=True,
                              metadata={"description": "URL-encoded JSON or null; schema 1 has none"})
    device_id = fields.String(load_default=None, validate=validate_client_id,
                              metadata={"description": "the phone's stable id; tells its own records"})


class PushArgsSchema(ma.Schema):
    last_pulled_at = NullableVersion(load_default=None, allow_none=True, validate=A_VERSION)
    device_id = fields.String(load_default=None, validate=validate_client_id)


class TableChangesSchema(ma.Schema):
    created = fields.List(fields.Dict(), load_default=list,
                          metadata={"description": "raw records as in SYNC_SCHEMA.md"})
    updated = fields.List(fields.Dict(), load_default=list)
    deleted = fields.List(fields.Raw(), load_default=list, metadata={"description": "record ids"})


class ChangesSchema(ma.Schema):
    children = fields.Nested(TableChangesSchema)
    episodes = fields.Nested(TableChangesSchema)
    sleep_sessions = fields.Nested(TableChangesSchema)

    @staticmethod
    def name_place(place: Place, changes) -> Place:
        """A bad string in a record is named as push.py names every bad value: table, record id, column
        (JsonBodyParser asks, for a lone surrogate, before push.py sees the records)."""
        match place:
            case (table, "created" | "updated" as kind, int(index), *column) if column:
                record = changes[table][kind][index]
                record_id = record.get("id") if isinstance(record, dict) else None
                return table, escape_lone_surrogates(record_id) if isinstance(record_id, str) else str(index), *column
            case (table, "deleted", int(index)):
                return table, escape_lone_surrogates(changes[table]["deleted"][index]), "id"
        return place


class PullSchema(ma.Schema):
    changes = fields.Nested(ChangesSchema, required=True)
    timestamp = fields.Integer(required=True, metadata={
        "description": "server change counter (>= 1); send it back as last_pulled_at"})


class EmptySchema(ma.Schema):
    pass
