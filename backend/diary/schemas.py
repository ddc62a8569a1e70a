"""REST bodies of episodes, sleep sessions, treatments and development checks: ISO instants and dates,
real JSON lists."""
import json

import marshmallow as ma
from flask_babel import gettext
from marshmallow import ValidationError, fields, validate, validates_schema

from backend.diary import vocabulary as v
from backend.i18n import number
from backend.validation import Instant, validate_client_id, validate_name, validate_text, validate_timezone


class WordList(fields.List):
    """A list of known words, stored as the phone's JSON text."""

    def __init__(self, allowed: tuple[str, ...], **kwargs):
        self.most = 2 * len(allowed)  # each word once, with room for repeats: longer is not a person's entry
        super().__init__(fields.String(validate=validate.OneOf(allowed)), metadata={"maxItems": self.most}, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return json.loads(value) if value else []

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list | tuple) and len(value) > self.most:
            raise ValidationError(gettext("At most %(most)s words.", most=number(self.most)))
        return json.dumps(list(dict.fromkeys(super()._deserialize(value, attr, data, **kwargs))))


NOTES = [validate.Length(max=v.MAX_NOTES), validate_text]


class ChildRecordSchema(ma.Schema):
    id = fields.String(validate=validate_client_id, metadata={
        "description": "Optional on create: a client-chosen id (1-64 of A-Z a-z 0-9 _ -)"})
    child_id = fields.String(validate=validate_client_id)
    notes = fields.String(allow_none=True, validate=NOTES)
    logged_by = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class DiaryEntrySchema(ChildRecordSchema):
    started_at = Instant(required=True)


class EpisodeSchema(DiaryEntrySchema):
    duration_seconds = fields.Integer(required=True,
                                      validate=validate.Range(min=0, max=v.MAX_EPISODE_SECONDS))
    timezone = fields.String(required=True, validate=validate_timezone,
                             metadata={"description": "IANA zone where the episode was logged"})
    sleep_state = fields.String(required=True, validate=validate.OneOf(v.SLEEP_STATES))
    stopped_when_woken = fields.String(load_default="not_tried",
                                       validate=validate.OneOf(v.STOPPED_WHEN_WOKEN))
    side = fields.String(load_default="unknown", validate=validate.OneOf(v.SIDES))
    body_parts = WordList(v.BODY_PARTS, load_default=lambda: "[]")
    signs = WordList(v.SIGNS, load_default=lambda: "[]")
    triggers = WordList(v.TRIGGERS, load_default=lambda: "[]")
    jerk_count = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=v.MAX_JERK_COUNT))
    video_ref = fields.String(allow_none=True, validate=[validate.Length(max=v.MAX_VIDEO_REF),
                                                         validate_text])


class SleepSessionSchema(DiaryEntrySchema):
    ended_at = Instant(allow_none=True, metadata={"description": "null while ongoing"})
    kind = fields.String(required=True, validate=validate.OneOf(v.SLEEP_KINDS))
    watched = fields.Boolean(required=True, metadata={
        "description": "someone watched for episodes: the exposure the trends divide by"})

    @validates_schema
    def validate_order(self, data, **kwargs):
        if data.get("ended_at") and data.get("started_at") and data["ended_at"] < data["started_at"]:
            raise ValidationError(gettext("Lies before %(field)s.", field="started_at"), field_name="ended_at")


class EpisodePatchSchema(EpisodeSchema):
    """Any subset of an episode's fields."""


class SleepSessionPatchSchema(SleepSessionSchema):
    """Any subset of a sleep session's fields."""


class EpisodeFilterSchema(ma.Schema):
    from_ = Instant(data_key="from", metadata={"description": "started at or after"})
    to = Instant(metadata={"description": "started before"})
    sleep_state = fields.String(validate=validate.OneOf(v.SLEEP_STATES))


class SleepSessionFilterSchema(ma.Schema):
    from_ = Instant(data_key="from", metadata={"description": "started at or after"})
    to = Instant(metadata={"description": "started before"})
    kind = fields.String(validate=validate.OneOf(v.SLEEP_KINDS))
    watched = fields.Boolean()


DATE_RULE = "not after the child's local today, not before the birth date"


class TreatmentSchema(ChildRecordSchema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=v.MAX_TREATMENT_NAME), validate_name],
                         metadata={"description": "one line, e.g. phenobarbital"})
    kind = fields.String(required=True, validate=validate.OneOf(v.TREATMENT_KINDS))
    dose = fields.String(allow_none=True, validate=[validate.Length(max=v.MAX_DOSE), validate_text],
                         metadata={"description": "free text, e.g. 5 mg/kg/day"})
    started_on = fields.Date(required=True, metadata={"description": DATE_RULE})
    stopped_on = fields.Date(allow_none=True, metadata={
        "description": f"null while ongoing; not before started_on, {DATE_RULE}"})


class DevelopmentCheckSchema(ChildRecordSchema):
    checked_on = fields.Date(required=True, metadata={"description": DATE_RULE})
    new_skills = fields.String(required=True, validate=validate.OneOf(v.ANSWERS), metadata={
        "description": "learned anything new since the last check?"})
    lost_skills = fields.String(required=True, validate=validate.OneOf(v.ANSWERS), metadata={
        "description": "stopped doing anything the child could do before?"})
    concerns = WordList(v.CONCERNS, load_default=lambda: "[]")


class TreatmentPatchSchema(TreatmentSchema):
    """Any subset of a treatment's fields."""


class DevelopmentCheckPatchSchema(DevelopmentCheckSchema):
    """Any subset of a development check's fields."""


class TreatmentFilterSchema(ma.Schema):
    from_ = fields.Date(data_key="from", metadata={"description": "started on or after"})
    to = fields.Date(metadata={"description": "started before"})
    kind = fields.String(validate=validate.OneOf(v.TREATMENT_KINDS))


class DevelopmentCheckFilterSchema(ma.Schema):
    from_ = fields.Date(data_key="from", metadata={"description": "checked on or after"})
    to = fields.Date(metadata={"description": "checked before"})
    lost_skills = fields.String(validate=validate.OneOf(v.ANSWERS))
