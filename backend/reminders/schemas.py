"""Bodies of the reminder endpoints."""
import re

import marshmallow as ma
from marshmallow import fields, validate

from backend.i18n import N_
from backend.reminders.models import CADENCES, KINDS, STATUSES, WEEKDAYS
from backend.validation import Translated, WholeMatch, validate_client_id, validate_timezone

HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
validate_local_time = WholeMatch(HH_MM, error=Translated(N_("Must be a time of day as HH:MM, 00:00 to 23:59.")))


class RecipientSchema(ma.Schema):
    user_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    opted_out = fields.Boolean(required=True)


class LeftOutSchema(ma.Schema):
    user_id = fields.String(required=True)
    name = fields.String(required=True)
    reason = fields.String(required=True, metadata={"enum": ["email not verified", "unsubscribed"]})


class ScheduleSchema(ma.Schema):
    cadence = fields.String(load_default="weekly", validate=validate.OneOf(CADENCES))
    weekday = fields.String(load_default="sunday", validate=validate.OneOf(WEEKDAYS))
    local_time = fields.String(load_default="19:00", validate=validate_local_time,
                               metadata={"description": "HH:MM in `timezone`, DST-correct"})
    timezone = fields.String(validate=validate_timezone, metadata={"description": "IANA zone; the child's by default"})
    enabled = fields.Boolean(load_default=True)
    recipients = fields.List(fields.String(validate=validate_client_id), allow_none=True, load_default=None,
                             metadata={"description": "user ids of care-team members; null: every caregiver"})
    next_due_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    effective_recipients = fields.List(fields.Nested(RecipientSchema), dump_only=True)
    left_out = fields.List(fields.Nested(LeftOutSchema), dump_only=True, metadata={
        "description": "chosen recipients who get no email, and why: emails about a child go only to a verified "
                       "address, and never to someone who unsubscribed"})


class ReminderSchema(ma.Schema):
    id = fields.String()
    user_id = fields.String()
    kind = fields.String(metadata={"enum": list(KINDS)})
    period_key = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    subject = fields.String(allow_none=True)
    due_at = fields.AwareDateTime()
    next_attempt_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class PreviewSchema(ma.Schema):
    kind = fields.String()
    to = fields.String()
    subject = fields.String()
    text = fields.String()
    html = fields.String()
