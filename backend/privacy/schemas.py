"""The family document (format `myodiary-family`, version 1) and the account-deletion body.

The same schemas dump the export (GET /api/v1/me/export, `flask data export`), document it in the
OpenAPI spec and check a file before `flask data import` writes anything. Records sit under their
child, so they carry no `child_id`; `sync` holds the bookkeeping phones need to keep syncing.
"""
import marshmallow as ma
from flask_babel import gettext
from marshmallow import ValidationError, fields, validate, validates_schema

from backend.accounts.models import USER_ROLES
from backend.accounts.schemas import LowerEmail
from backend.care_teams.models import MEMBER_ROLES
from backend.children.models import CONDITIONS, SEXES
from backend.clinic.models import EEG_RESULTS
from backend.diary import vocabulary as v
from backend.diary.schemas import WordList
from backend.reminders.models import CADENCES, KINDS, STATUSES, WEEKDAYS
from backend.reminders.schemas import validate_local_time
from backend.validation import Instant, validate_client_id, validate_name, validate_text, validate_timezone
from backend.videos.models import STATUSES as VIDEO_STATUSES

FORMAT, VERSION = "myodiary-family", 1
USER_ID = [validate.Length(min=1, max=36)]
TEXT_ID = validate.Length(min=1, max=36)


NAME = [validate.Length(min=1, max=80), validate_name]  # the same rules as the forms that make them
NAME_OF_TREATMENT = [validate.Length(min=1, max=v.MAX_TREATMENT_NAME), validate_name]


def _instant(**kwargs) -> Instant:
    return Instant(required=not kwargs.get("allow_none"), **kwargs)


def _optional(field_class, *args, **kwargs):
    return field_class(*args, required=True, allow_none=True, **kwargs)


class ExportedAccountSchema(ma.Schema):
    id = fields.String(required=True, validate=USER_ID)
    email = LowerEmail(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=NAME)
    role = fields.String(required=True, validate=validate.OneOf(USER_ROLES))
    created_at = _instant()


class ExportedPersonSchema(ma.Schema):
    """Someone else the document names (co-carer, clinician): no email, nothing private."""

    id = fields.String(required=True, validate=USER_ID)
    name = fields.String(required=True, validate=NAME)
    role = fields.String(required=True, validate=validate.OneOf(USER_ROLES))
    deleted_at = _instant(allow_none=True, metadata={"description": "set when the account was deleted"})


class ExportedStampSchema(ma.Schema):
    created_version = fields.Integer(required=True, validate=validate.Range(min=1))
    created_by_device = _optional(fields.String, validate=validate.Length(max=64))
    updated_by_device = _optional(fields.String, validate=validate.Length(max=64))


class ExportedGrantSchema(ma.Schema):
    first_granted_version = fields.Integer(required=True, validate=validate.Range(min=1))
    granted_version = fields.Integer(required=True, validate=validate.Range(min=1))
    revoked_version = _optional(fields.Integer, validate=validate.Range(min=1))


class ExportedMembershipSchema(ma.Schema):
    id = fields.String(required=True, validate=TEXT_ID)
    user_id = fields.String(required=True, validate=USER_ID)
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))
    created_at = _instant()
    revoked_at = _instant(allow_none=True)
    sync = fields.Nested(ExportedGrantSchema, required=True)


class ExportedRecordSchema(ma.Schema):
    """A record caregivers write for one child: diary entries, treatments, development checks."""

    id = fields.String(required=True, validate=validate_client_id)
    notes = _optional(fields.String, validate=[validate.Length(max=v.MAX_NOTES), validate_text])
    logged_by = fields.String(required=True, validate=USER_ID)
    created_at = _instant()
    updated_at = _instant()
    deleted_at = _instant(allow_none=True, metadata={"description": "set on a deleted record (a tombstone)"})
    sync = fields.Nested(ExportedStampSchema, required=True)


class ExportedEntrySchema(ExportedRecordSchema):
    started_at = _instant()


class ExportedEpisodeSchema(ExportedEntrySchema):
    duration_seconds = fields.Integer(required=True, validate=validate.Range(min=0, max=v.MAX_EPISODE_SECONDS))
    timezone = fields.String(required=True, validate=validate_timezone)
    sleep_state = fields.String(required=True, validate=validate.OneOf(v.SLEEP_STATES))
    stopped_when_woken = fields.String(required=True, validate=validate.OneOf(v.STOPPED_WHEN_WOKEN))
    side = fields.String(required=True, validate=validate.OneOf(v.SIDES))
    body_parts = WordList(v.BODY_PARTS, required=True)
    signs = WordList(v.SIGNS, required=True)
    triggers = WordList(v.TRIGGERS, required=True)
    jerk_count = _optional(fields.Integer, validate=validate.Range(min=0, max=v.MAX_JERK_COUNT))
    video_ref = _optional(fields.String, validate=validate.Length(max=v.MAX_VIDEO_REF))


class ExportedSleepSessionSchema(ExportedEntrySchema):
    ended_at = _instant(allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(v.SLEEP_KINDS))
    watched = fields.Boolean(required=True)


class ExportedTreatmentSchema(ExportedRecordSchema):
    name = fields.String(required=True, validate=NAME_OF_TREATMENT)
    kind = fields.String(required=True, validate=validate.OneOf(v.TREATMENT_KINDS))
    dose = _optional(fields.String, validate=[validate.Length(max=v.MAX_DOSE), validate_text])
    started_on = fields.Date(required=True)
    stopped_on = _optional(fields.Date)


class ExportedDevelopmentCheckSchema(ExportedRecordSchema):
    checked_on = fields.Date(required=True)
    new_skills = fields.String(required=True, validate=validate.OneOf(v.ANSWERS))
    lost_skills = fields.String(required=True, validate=validate.OneOf(v.ANSWERS))
    concerns = WordList(v.CONCERNS, required=True)


class ExportedNoteSchema(ma.Schema):
    id = fields.String(required=True, validate=TEXT_ID)
    author_id = fields.String(required=True, validate=USER_ID)
    text = fields.String(required=True, validate=[validate.Length(min=1), validate_text])
    eeg = _optional(fields.String, validate=validate.OneOf(EEG_RESULTS))
    created_at = _instant()
    updated_at = _instant()


class ExportedScheduleSchema(ma.Schema):
    cadence = fields.String(required=True, validate=validate.OneOf(CADENCES))
    weekday = fields.String(required=True, validate=validate.OneOf(WEEKDAYS))
    local_time = fields.String(required=True, validate=validate_local_time)
    timezone = fields.String(required=True, validate=validate_timezone)
    enabled = fields.Boolean(required=True)
    recipients = _optional(fields.List, fields.String(validate=USER_ID))
    anchor = fields.Date(required=True)
    next_due_at = _instant(allow_none=True)
    known_verdict = _optional(fields.String, validate=validate.Length(max=32))
    known_red_flags = fields.List(fields.String(), required=True)
    created_at = _instant()
    updated_at = _instant()


class ExportedOptOutSchema(ma.Schema):
    user_id = fields.String(required=True, validate=USER_ID)
    created_at = _instant()


class ExportedReminderSchema(ma.Schema):
    id = fields.String(required=True, validate=TEXT_ID)
    user_id = fields.String(required=True, validate=USER_ID)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    period_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    due_at = _instant()
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    attempts = fields.Integer(required=True, validate=validate.Range(min=0))
    last_error = _optional(fields.String)
    next_attempt_at = _instant()
    claimed_at = _instant(allow_none=True)
    sent_at = _instant(allow_none=True)
    subject = _optional(fields.String)
    created_at = _instant()


class ExportedAccessEventSchema(ma.Schema):
    id = fields.String(required=True, validate=TEXT_ID)
    user_id = fields.String(required=True, validate=USER_ID)
    action = fields.String(required=True, validate=validate.Length(min=1, max=40))
    at = _instant()


class ExportedVideoSchema(ma.Schema):
    """An episode's video as the family sees it; its MP4 and poster travel in the archive that
    `flask data export --with-media` writes (videos/<id>.mp4, videos/<id>.jpg), never in this document."""

    id = fields.String(required=True, validate=validate_client_id)
    episode_id = fields.String(required=True, validate=validate_client_id)
    uploaded_by = fields.String(required=True, validate=USER_ID)
    status = fields.String(required=True, validate=validate.OneOf(VIDEO_STATUSES))
    content_type = _optional(fields.String, validate=validate.OneOf(["video/mp4"]))
    size_bytes = fields.Integer(required=True, validate=validate.Range(min=0), metadata={
        "description": "of the MP4 once ready; the size announced at upload before"})
    duration_ms = _optional(fields.Integer, validate=validate.Range(min=0))
    width = _optional(fields.Integer, validate=validate.Range(min=1))
    height = _optional(fields.Integer, validate=validate.Range(min=1))
    created_at = _instant()
    updated_at = _instant()
    content_url = fields.String(allow_none=True, load_default=None, metadata={
        "description": "where the server plays it (ready videos); a path of this server, ignored on import"})
    poster_url = fields.String(allow_none=True, load_default=None, metadata={
        "description": "its still (ready videos); a path of this server, ignored on import"})
    sync = fields.Nested(ExportedStampSchema, required=True)


class ExportedChildSchema(ma.Schema):
    id = fields.String(required=True, validate=validate_client_id)
    name = fields.String(required=True, validate=NAME)
    birth_date = fields.Date(required=True)
    gestational_weeks = _optional(fields.Float, validate=validate.Range(min=22, max=44))
    sex = _optional(fields.String, validate=validate.OneOf(SEXES))
    timezone = fields.String(required=True, validate=validate_timezone)
    condition = fields.String(required=True, validate=validate.OneOf(CONDITIONS))
    owner_id = fields.String(required=True, validate=USER_ID)
    created_at = _instant()
    updated_at = _instant()
    sync = fields.Nested(ExportedStampSchema, required=True)
    care_team = fields.List(fields.Nested(ExportedMembershipSchema), required=True)
    episodes = fields.List(fields.Nested(ExportedEpisodeSchema), required=True)
    sleep_sessions = fields.List(fields.Nested(ExportedSleepSessionSchema), required=True)
    clinician_notes = fields.List(fields.Nested(ExportedNoteSchema), required=True)
    reminder_schedule = fields.Nested(ExportedScheduleSchema, required=True, allow_none=True)
    reminder_opt_outs = fields.List(fields.Nested(ExportedOptOutSchema), required=True)
    reminders = fields.List(fields.Nested(ExportedReminderSchema), required=True, metadata={
        "description": "the reminder emails sent, waiting, failed or skipped"})
    access_log = fields.List(fields.Nested(ExportedAccessEventSchema), required=True, metadata={
        "description": "every view of the child's data by one of its clinicians (the owner's export only)"})
    treatments = fields.List(fields.Nested(ExportedTreatmentSchema), load_default=list, metadata={
        "description": "what the child was given; absent from documents made before treatments"})
    development_checks = fields.List(fields.Nested(ExportedDevelopmentCheckSchema), load_default=list, metadata={
        "description": "the caregivers' development checks; absent from documents made before them"})
    videos = fields.List(fields.Nested(ExportedVideoSchema), load_default=list, metadata={
        "description": "the episodes' videos (deleted ones left out); absent from documents made before videos"})


class FamilyDocumentSchema(ma.Schema):
    """Everything an account logged: its account and the children it cares for, with their diaries."""

    format = fields.String(required=True, validate=validate.Equal(FORMAT))
    version = fields.Integer(required=True, validate=validate.Equal(VERSION))
    exported_at = _instant()
    sync_timestamp = fields.Integer(required=True, validate=validate.Range(min=1), metadata={
        "description": "the server's change counter at export; an import raises its own to at least this"})
    account = fields.Nested(ExportedAccountSchema, required=True)
    people = fields.List(fields.Nested(ExportedPersonSchema), required=True, metadata={
        "description": "everyone else the document names: id, name and role only"})
    children = fields.List(fields.Nested(ExportedChildSchema), required=True)

    @validates_schema
    def validate_references(self, data: dict, **kwargs) -> None:
        """Every user id a record names is the account or one of the people; no id twice."""
        known = {data["account"]["id"], *(person["id"] for person in data["people"])}
        errors: dict = {}
        if len(known) != 1 + len(data["people"]):
            errors["people"] = [gettext("An id appears twice among the account and the people.")]
        for index, child in enumerate(data["children"]):
            problems = []
            if unknown := sorted(set(user_ids_of(child)) - known):
                problems.append(gettext("Names users that are neither the account nor in people: %(ids)s.",
                                        ids=", ".join(unknown)))
            episodes = {episode["id"] for episode in child["episodes"]}
            if orphans := sorted(video["id"] for video in child["videos"] if video["episode_id"] not in episodes):
                problems.append(gettext("Has videos of episodes it does not hold: %(ids)s.", ids=", ".join(orphans)))
            if problems:
                errors.setdefault("children", {})[index] = {"_schema": problems}
        seen: set = set()
        for what, record_id in _record_ids(data["children"]):
            if (what, record_id) in seen:
                errors.setdefault("children", {}).setdefault("_schema", []).append(
                    gettext("The %(table)s id %(id)s appears twice.", table=what, id=record_id))
            seen.add((what, record_id))
        if errors:
            raise ValidationError(errors)


def user_ids_of(child: dict):
    yield child["owner_id"]
    for table, column in (("care_team", "user_id"), ("episodes", "logged_by"), ("sleep_sessions", "logged_by"),
                          ("treatments", "logged_by"), ("development_checks", "logged_by"),
                          ("clinician_notes", "author_id"), ("reminder_opt_outs", "user_id"),
                          ("reminders", "user_id"), ("access_log", "user_id"), ("videos", "uploaded_by")):
        yield from (record[column] for record in child[table])
    yield from (child["reminder_schedule"] or {}).get("recipients") or []


def _record_ids(children: list[dict]):
    for child in children:
        yield "child", child["id"]
        for table in ("care_team", "episodes", "sleep_sessions", "treatments", "development_checks",
                      "clinician_notes", "reminders", "access_log", "videos"):
            yield from ((table, record["id"]) for record in child[table])


class DeleteAccountSchema(ma.Schema):
    password = fields.String(required=True, load_only=True, metadata={
        "description": "the account's password, asked again before anything is deleted"})


family_document_schema = FamilyDocumentSchema()
