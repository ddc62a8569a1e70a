"""The sync endpoints' query arguments and bodies (WatermelonDB's protocol)."""
import json
from dataclasses import dataclass

import marshmallow as ma
from flask_babel import gettext
from marshmallow import ValidationError, fields, validate, validates_schema

from backend.sync.columns import LATEST_SCHEMA_VERSION, added_since
from backend.validation import Place, escape_lone_surrogates, validate_client_id

A_VERSION = validate.Range(min=0, max=2**63 - 1)  # BIGINT columns: a larger version cannot even be compared
MIGRATION_SHAPE = ('{"from": <schema version>, "tables": [<table>, ...], '
                   '"columns": [{"table": <table>, "columns": [<column>, ...]}, ...]}')


def _migration_shape_error(not_json: bool = False) -> ValidationError:
    if not_json:
        return ValidationError(gettext("Not valid JSON. Must be null or JSON %(shape)s.", shape=MIGRATION_SHAPE))
    return ValidationError(gettext("Must be null or JSON %(shape)s.", shape=MIGRATION_SHAPE))


class NullableVersion(fields.Integer):
    """The phone sends `null` (or nothing) before its first pull, as text in the URL."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value in ("", "null", "undefined"):
            value = None
        return super().deserialize(value, attr, data, **kwargs)


@dataclass(frozen=True)
class Migration:
    """WatermelonDB's migration sync: the phone's schema moved up from `from_version` and gained these."""

    from_version: int
    tables: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (table, column)


def _whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


class MigrationField(fields.String):
    """`migration`: URL-encoded JSON, or null (also as nothing, "" or "undefined") when there is none."""

    def _deserialize(self, value, attr, data, **kwargs) -> Migration | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text in ("", "null", "undefined"):
            return None
        try:
            raw = json.loads(text)
        except ValueError:
            raise _migration_shape_error(not_json=True) from None
        if not isinstance(raw, dict) or set(raw) != {"from", "tables", "columns"}:
            raise _migration_shape_error()
        columns = raw["columns"]
        if not (_whole_number(raw["from"]) and raw["from"] >= 1 and _strings(raw["tables"])
                and isinstance(columns, list) and all(
                    isinstance(entry, dict) and set(entry) == {"table", "columns"}
                    and isinstance(entry["table"], str) and _strings(entry["columns"]) for entry in columns)):
            raise _migration_shape_error()
        return Migration(raw["from"], tuple(dict.fromkeys(raw["tables"])),
                         tuple((entry["table"], name) for entry in columns for name in entry["columns"]))


class PullArgsSchema(ma.Schema):
    last_pulled_at = NullableVersion(
        load_default=None, allow_none=True, validate=A_VERSION,
        metadata={"description": "timestamp of the last pull; null or absent for everything"})
    schema_version = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=LATEST_SCHEMA_VERSION),
        metadata={"description": "the phone's local schema: 1, or 2 with treatments, development_checks and "
                                 "episode_videos"})
    migration = MigrationField(
        load_default=None, allow_none=True,
        metadata={"description": 'URL-encoded JSON or null: after the phone\'s schema migration, e.g. '
                                 '{"from":1,"tables":["treatments","development_checks","episode_videos"],'
                                 '"columns":[]}; the tables named come whole'})
    device_id = fields.String(load_default=None, validate=validate_client_id,
                              metadata={"description": "the phone's stable id; tells its own records"})

    @validates_schema(skip_on_field_errors=True)
    def _migration_fits_the_schema_version(self, args, **kwargs) -> None:
        migration = args.get("migration")
        if migration is None:
            return
        version = args.get("schema_version", 1)
        if migration.from_version >= version:
            raise ValidationError(gettext("A migration goes from an earlier schema version to %(version)s; this one "
                                          "is from %(from_version)s.", version=version,
                                          from_version=migration.from_version), field_name="migration")
        tables, columns = added_since(migration.from_version, version)
        if unknown := [table for table in migration.tables if table not in tables]:
            raise ValidationError(gettext("Schema versions %(first)s to %(last)s add no table %(tables)s.",
                                          first=migration.from_version + 1, last=version, tables=", ".join(unknown)),
                                  field_name="migration")
        if unknown := [f"{table}.{column}" for table, column in migration.columns if (table, column) not in columns]:
            raise ValidationError(gettext("Schema versions %(first)s to %(last)s add no column %(columns)s.",
                                          first=migration.from_version + 1, last=version,
                                          columns=", ".join(unknown)), field_name="migration")


class PushArgsSchema(ma.Schema):
    last_pulled_at = NullableVersion(load_default=None, allow_none=True, validate=A_VERSION)
    device_id = fields.String(load_default=None, validate=validate_client_id)


class TableChangesSchema(ma.Schema):
    created = fields.List(fields.Dict(), load_default=list,
                          metadata={"description": "raw records as in SYNC_SCHEMA.md"})
    updated = fields.List(fields.Dict(), load_default=list)
    deleted = fields.List(fields.Raw(), load_default=list, metadata={"description": "record ids"})


class ChangesSchema(ma.Schema):
    """Every table of every schema version (SCHEMA_TABLES): WatermelonDB sends each table it has."""

    children = fields.Nested(TableChangesSchema)
    episodes = fields.Nested(TableChangesSchema)
    sleep_sessions = fields.Nested(TableChangesSchema)
    treatments = fields.Nested(TableChangesSchema)  # schema version 2
    development_checks = fields.Nested(TableChangesSchema)  # schema version 2
    episode_videos = fields.Nested(TableChangesSchema, metadata={
        "description": "schema version 2: ids in deleted delete the videos; created or updated is a 422"})

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
        "description": "the highest sync version this pull has seen whole (>= 1); send it back as last_pulled_at"})


class EmptySchema(ma.Schema):
    pass
