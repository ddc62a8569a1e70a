"""Bodies of the clinician-notes and access-log endpoints."""
import marshmallow as ma
from marshmallow import fields, validate

from backend.clinic.models import EEG_RESULTS
from backend.validation import validate_filled, validate_text

NOTE_MAX_CHARS = 5000


class NoteBodySchema(ma.Schema):
    text = fields.String(required=True,
                         validate=[validate.Length(min=1, max=NOTE_MAX_CHARS), validate_text, validate_filled])
    eeg = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(EEG_RESULTS), metadata={
        "description": "an EEG result recorded with this note; `abnormal` raises a red flag"})


class PersonSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()


class NoteSchema(NoteBodySchema):
    id = fields.String(dump_only=True)
    child_id = fields.String(dump_only=True)
    author = fields.Nested(PersonSchema, dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class AccessEventSchema(ma.Schema):
    id = fields.String()
    user = fields.Nested(PersonSchema)
    action = fields.String(metadata={"description": "what was viewed: the endpoint, e.g. trends.trends"})
    at = fields.AwareDateTime()
