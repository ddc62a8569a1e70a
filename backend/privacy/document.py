"""The family document: everything an account logged, as one versioned JSON file.

It holds the account (id, email, name, role) and every live child the account cares for (owner or
caregiver) with its care team, episodes, sleep sessions, treatments and development checks (deleted
ones too, with `deleted_at`), clinician notes, reminder schedule, opt-outs and reminder history, the
episodes' videos (their metadata and where this server plays them; the files themselves travel in the archive of
`flask data export --with-media`, backend.privacy.archive), and, for the children the account
owns, the access log (which of its clinicians viewed what, and when: the owner's to read, as in the
API). `flask data import` recreates the family from it.

Deliberately left out:
- the password hash and bearer tokens: secrets; a copied file must never let anyone sign in.
  Imported accounts have no usable password until `flask users set-password` gives them one.
- invite codes: single-use secrets (only their hashes are stored); accepted ones show in the care team.
- other people's accounts: co-carers and clinicians appear with id, name and role only, never their
  email; their contact details are theirs, not the family's.
- children the account only reads as a clinician, has left, or has deleted: they are not its family's
  diary (a clinician's export holds the account alone; its notes travel with each family's child).
- child summaries (verdicts, cached trend reports): derived from the diary, rebuilt after an import.
- each record's `version` (the server change counter of its last write): one server's clock; an import
  re-stamps it. Versions phones compare against their own state (when a record or membership was
  created) are kept under `sync`, so phones go on syncing with the imported copy.
- a video's storage keys and its upload's state (offset, chunks, the file name and type the phone
  announced, who is writing, the processing claim and attempts, the hash of the bytes uploaded, a
  rejected upload's reason): one server's bookkeeping of a file, not the family's data. Deleted videos
  are left out: their files are gone.
- server state: the reminder dispatcher's claim token and where it handed an email over (SMTP server
  or file path), the scheduler's heartbeat, rate-limit counters.
"""
import json
from collections import defaultdict
from functools import cache

from flask import current_app, has_request_context, url_for
from sqlalchemy import select

from backend.accounts.models import User
from backend.care_teams.models import WRITER_ROLES, Membership
from backend.children.models import Child
from backend.clinic.models import AccessEvent, ClinicianNote
from backend.database import id_chunks
from backend.db_types import utcnow
from backend.diary.models import DevelopmentCheck, Episode, SleepSession, Treatment
from backend.extensions import db
from backend.privacy import schemas as s
from backend.reminders.models import Reminder, ReminderOptOut, ReminderSchedule
from backend.versioning import current_version
from backend.videos.models import READY, EpisodeVideo


def family_children(user_id: str):
    """A select of the live children the user cares for (owner or caregiver)."""
    return select(Child).join(Membership, Membership.child_id == Child.id).where(
        Membership.user_id == user_id, Membership.revoked_at.is_(None), Membership.role.in_(WRITER_ROLES),
        Child.deleted_at.is_(None)).order_by(Child.created_at, Child.id)


def build_document(user: User) -> dict:
    """The user's family document, ready for `family_document_schema.dump`."""
    children = db.session.scalars(family_children(user.id)).all()
    records = _child_records(children, user.id)
    return {"format": s.FORMAT, "version": s.VERSION, "exported_at": utcnow(),
            "sync_timestamp": current_version(), "account": user,
            "people": _people(user.id, records), "children": records}


PARTS = {  # what each child holds: model, order, schema
    "care_team": (Membership, (Membership.created_at, Membership.id), s.ExportedMembershipSchema),
    "episodes": (Episode, (Episode.started_at, Episode.id), s.ExportedEpisodeSchema),
    "sleep_sessions": (SleepSession, (SleepSession.started_at, SleepSession.id), s.ExportedSleepSessionSchema),
    "treatments": (Treatment, (Treatment.started_on, Treatment.id), s.ExportedTreatmentSchema),
    "development_checks": (DevelopmentCheck, (DevelopmentCheck.checked_on, DevelopmentCheck.id),
                           s.ExportedDevelopmentCheckSchema),
    "clinician_notes": (ClinicianNote, (ClinicianNote.created_at, ClinicianNote.id), s.ExportedNoteSchema),
    "reminder_opt_outs": (ReminderOptOut, (ReminderOptOut.created_at, ReminderOptOut.user_id),
                          s.ExportedOptOutSchema),
    "reminders": (Reminder, (Reminder.created_at, Reminder.id), s.ExportedReminderSchema),
    "access_log": (AccessEvent, (AccessEvent.at, AccessEvent.id), s.ExportedAccessEventSchema),
    "videos": (EpisodeVideo, (EpisodeVideo.created_at, EpisodeVideo.id), s.ExportedVideoSchema),
}
ONLY = {EpisodeVideo: (EpisodeVideo.deleted_at.is_(None),)}  # rows of a part left out


def _child_records(children: list[Child], user_id: str) -> list[dict]:
    ids = [child.id for child in children]
    parts = {name: _grouped(model, ids, *order) for name, (model, order, _) in PARTS.items()}
    schedules = {row.child_id: row for row in _rows(ReminderSchedule, ids)}
    existing_users = _existing_users(schedules.values())
    return [{**_values(child, s.ExportedChildSchema), "sync": _stamp(child),
             **{name: [_part(name, row) for row in parts[name][child.id]]
                if name != "access_log" or child.owner_id == user_id else []  # the owner's to read, as in the API
                for name in PARTS},
             "reminder_schedule": _schedule(schedules.get(child.id), existing_users)}
            for child in children]


def _part(name: str, row) -> dict:
    values = _values(row, PARTS[name][2])
    if name == "videos":
        values.update(_video(row))
    return {**values, "sync": SYNCED[name](row)} if name in SYNCED else values


def _rows(model, child_ids: list[str], *order) -> list:
    return [row for some in id_chunks(child_ids) for row in db.session.scalars(
        select(model).where(model.child_id.in_(some), *ONLY.get(model, ())).order_by(*order))]


def _grouped(model, child_ids: list[str], *order) -> dict[str, list]:
    groups = defaultdict(list)
    for row in _rows(model, child_ids, *order):
        groups[row.child_id].append(row)
    return groups


def _values(row, schema_class) -> dict:
    """The row's stored columns that the schema exports."""
    return {name: getattr(row, name) for name in _exported_columns(type(row), schema_class)}


@cache
def _exported_columns(model, schema_class) -> list[str]:
    return [name for name in schema_class().fields if name in model.__table__.columns]


def _stamp(row) -> dict:
    return {"created_version": row.created_version, "created_by_device": row.created_by_device,
            "updated_by_device": row.updated_by_device}


def _grant(membership: Membership) -> dict:
    return {"first_granted_version": membership.first_granted_version,
            "granted_version": membership.granted_version, "revoked_version": membership.revoked_version}


SYNCED = {"care_team": _grant, "episodes": _stamp, "sleep_sessions": _stamp, "treatments": _stamp,
          "development_checks": _stamp, "videos": _stamp}  # each row's sync bookkeeping


def _video(video: EpisodeVideo) -> dict:
    """Where this server plays a ready video: paths, never storage keys."""
    ready = video.status == READY
    return {"content_url": _path("videos.video_content", video_id=video.id) if ready else None,
            "poster_url": _path("videos.video_poster", video_id=video.id) if ready else None}


def _path(endpoint: str, **values) -> str:
    """The route's path, in a request (GET /me/export) as outside one (`flask data export`)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("", script_name=current_app.config["APPLICATION_ROOT"]).build(endpoint, values)


def _existing_users(schedules) -> set[str]:
    named = {uid for schedule in schedules for uid in json.loads(schedule.recipients or "[]")}
    return set(db.session.scalars(select(User.id).where(User.id.in_(named)))) if named else set()


def _schedule(schedule: ReminderSchedule | None, existing_users: set[str]) -> dict | None:
    """The schedule, its JSON columns as lists; a recipient whose account is gone is nobody to remind."""
    if schedule is None:
        return None
    recipients = None if schedule.recipients is None else [
        uid for uid in json.loads(schedule.recipients) if uid in existing_users]
    return {**_values(schedule, s.ExportedScheduleSchema), "recipients": recipients,
            "known_red_flags": json.loads(schedule.known_red_flags or "[]")}


def _people(account_id: str, records: list[dict]) -> list[User]:
    named = {uid for record in records for uid in s.user_ids_of(record)} - {account_id}
    people = [user for some in id_chunks(sorted(named))
              for user in db.session.scalars(select(User).where(User.id.in_(some)))]
    return sorted(people, key=lambda user: user.id)
