"""Export to and import from the family document (`flask data export`, `flask data import`).

An import recreates the family in one transaction, keeping every id so the family's phones go on
syncing: the account (by email, without a usable password), the people the document names (by id;
one already here is linked, one missing becomes a placeholder account that cannot sign in), the
children and everything under them. It refuses, and writes nothing, when the account's email or id,
or any child or record id, already exists here: it never merges into an existing family.

Versions: the server's sync clock is first raised past the document's `sync_timestamp` (the source's
counter at export, beyond every pull its phones made), then the import takes the next version through
the normal counter and stamps every child, episode and sleep session with it. Phones therefore pull
the whole family once more, as `updated`, and get anything the source had changed after their last
pull. What tells a phone whether it already has a record (when the record or membership was created,
by which device) is kept from the document.

Videos: a ready video comes back only with its files, which the archive of `flask data export
--with-media` carries (backend.privacy.archive puts them into the storage before the rows are written).
From a plain document, and for videos not ready at export (an upload in progress cannot be resumed on
another server, a rejected one has no file), the rows are left out and the report names them.
"""
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from marshmallow import ValidationError
from sqlalchemy import delete, insert, select

from backend.accounts.models import User
from backend.care_teams.models import Membership
from backend.children.models import Child
from backend.clinic.models import AccessEvent, ClinicianNote
from backend.database import id_chunks
from backend.db_types import utcnow
from backend.diary.models import DevelopmentCheck, Episode, SleepSession, Treatment
from backend.extensions import db
from backend.privacy.deletion import UNUSABLE_PASSWORD, placeholder_email
from backend.privacy.models import PurgedChild, PurgedEntry
from backend.privacy.schemas import FORMAT, VERSION, family_document_schema
from backend.reminders.models import Reminder, ReminderOptOut, ReminderSchedule
from backend.trends.freshness import touch
from backend.versioning import claim_version_above
from backend.videos.lifecycle import POSTER_KEY, VIDEO_KEY
from backend.videos.models import READY, EpisodeVideo

INSERT_CHUNK = 1000
RECORD_TABLES = {"care_team": Membership, "episodes": Episode, "sleep_sessions": SleepSession,
                 "treatments": Treatment, "development_checks": DevelopmentCheck,
                 "clinician_notes": ClinicianNote, "reminders": Reminder, "access_log": AccessEvent,
                 "videos": EpisodeVideo}
NOT_RESTORED = {READY: "its files are only in the archive that `flask data export --with-media` writes",
                "uploading": "its upload had not finished; upload the clip again",
                "processing": "it was still being processed; upload the clip again",
                "rejected": "it had been rejected; it has no file"}
CHILD_PARTS = {*RECORD_TABLES, "reminder_schedule", "reminder_opt_outs"}


class ImportRefused(Exception):
    """The file cannot be imported; the message says why. Nothing was written."""


@dataclass
class ImportResult:
    account_email: str
    linked_people: int = 0
    placeholder_people: list[str] = field(default_factory=list)  # their placeholder emails
    counts: dict[str, int] = field(default_factory=dict)
    videos_left_out: list[tuple[str, str]] = field(default_factory=list)  # (id, why)

    def report(self) -> Iterator[str]:
        counts = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in self.counts.items())
        yield f"Imported {self.account_email} with {counts or 'no children'}."
        if self.linked_people:
            yield f"{self.linked_people} people named in the file have accounts here already: linked."
        if self.placeholder_people:
            yield (f"{len(self.placeholder_people)} people named in the file (co-carers, clinicians) are placeholder "
                   "accounts that cannot sign in; give one its address and a password with "
                   "`flask users set-password PLACEHOLDER --new-email THEIRS`:")
            yield from (f"  {email}" for email in self.placeholder_people)
        if left := len(self.videos_left_out):
            yield f"{left} video{' was' if left == 1 else 's were'} not restored:"
            yield from (f"  {video_id}: {why}" for video_id, why in self.videos_left_out)
        yield (f"Passwords are never exported: give {self.account_email} one with "
               f"`flask users set-password {self.account_email}`.")


def document_json(document: dict) -> str:
    """The document as the file `flask data export` writes."""
    return json.dumps(family_document_schema.dump(document), ensure_ascii=False, indent=1) + "\n"


def read_document(text: str) -> dict:
    """The loaded document, or ImportRefused saying what is wrong with the file."""
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise ImportRefused(f"The file is not JSON: {error}.") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ImportRefused(f'This is not a Myodiary family document ("format" is not "{FORMAT}").')
    if raw.get("version") != VERSION:
        raise ImportRefused(f'The document has "version" {raw.get("version")!r}; this server reads version {VERSION}.')
    try:
        return family_document_schema.load(raw)
    except ValidationError as error:
        problems = list(_flatten(error.messages))
        listed = "\n".join(f"  {where}: {message}" for where, message in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ImportRefused(f"The document is not valid; nothing was imported:\n{listed}{more}") from None


def _flatten(messages, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, f"{path}.{key}" if path else str(key))
    elif isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        yield from ((path or "document", message) for message in messages)
    else:
        for index, value in enumerate(messages):
            yield from _flatten(value, f"{path}.{index}")


def record_count(document: dict) -> int:
    """How many rows the import writes, for a progress bar."""
    lists = CHILD_PARTS - {"reminder_schedule"}
    return 1 + len(document["people"]) + sum(
        1 + (child["reminder_schedule"] is not None) + sum(len(child[name]) for name in lists)
        for child in document["children"])


def import_document(document: dict, advance: Callable[[int], None] = lambda n: None,
                    videos_with_files: frozenset[str] = frozenset()) -> ImportResult:
    """Write the family into the session's transaction (the caller commits); ImportRefused on a clash.
    `videos_with_files`: the ready videos whose files are in the storage already, under the keys
    backend.videos.lifecycle names; the other videos are left out (the module's docstring)."""
    refuse_clashes(document)
    version = claim_version_above(document["sync_timestamp"])
    result = ImportResult(document["account"]["email"])
    _insert_users(document, result)
    advance(1 + len(document["people"]))
    for child in document["children"]:
        _insert_child(child, version, result.counts, advance)
        _insert_videos(child, version, videos_with_files, result, advance)
    touch(db.session, [child["id"] for child in document["children"]])  # their summaries, stale until built
    return result


# ---- refusing ----------------------------------------------------------------------------------

def refuse_clashes(document: dict) -> None:
    account = document["account"]
    if db.session.scalar(select(User.id).where(User.email == account["email"])):
        raise ImportRefused(f"An account with the email {account['email']} exists here already; import does "
                            "not merge. Import into another database, or delete that account first.")
    if db.session.get(User, account["id"]) is not None:
        raise ImportRefused(f"An account with the id {account['id']} exists here already; import does not merge.")
    clashes = [f"{len(found)} of its {what} (e.g. {', '.join(sorted(found)[:3])})"
               for what, found in _existing_ids(document) if found]
    if clashes:
        raise ImportRefused("This database has some of the family already: " + "; ".join(clashes)
                            + ". Import does not merge; nothing was imported.")


def _existing_ids(document: dict) -> Iterator[tuple[str, set]]:
    children = document["children"]
    yield "children", _found(Child.id, [child["id"] for child in children])
    for name, model in RECORD_TABLES.items():
        yield name.replace("_", " "), _found(model.id, [record["id"] for child in children for record in child[name]])


def _found(column, ids: list[str]) -> set:
    return {found for some in id_chunks(ids) for found in db.session.scalars(select(column).where(column.in_(some)))}


# ---- writing ----------------------------------------------------------------------------------

def _insert_users(document: dict, result: ImportResult) -> None:
    account = document["account"]
    rows = [{**account, "password_hash": UNUSABLE_PASSWORD, "deleted_at": None}]
    here = _found(User.id, [person["id"] for person in document["people"]])
    for person in document["people"]:
        if person["id"] in here:
            result.linked_people += 1
            continue
        email = placeholder_email(person["id"]) if person["deleted_at"] else imported_email(person["id"])
        rows.append({**person, "email": email, "password_hash": UNUSABLE_PASSWORD, "created_at": utcnow()})
        if not person["deleted_at"]:
            result.placeholder_people.append(email)
    db.session.execute(insert(User.__table__), rows)


def imported_email(user_id: str) -> str:
    """A placeholder address for someone the document names without their email."""
    return f"{user_id}@imported.invalid"


def _insert_child(child: dict, version: int, counts: dict, advance: Callable[[int], None]) -> None:
    child_id = child["id"]
    own = {key: value for key, value in child.items() if key not in CHILD_PARTS}
    _write(Child, [_stamped(own, version)], counts, "children", advance)
    _write(Membership, [{**_plain(m), **m["sync"], "child_id": child_id} for m in child["care_team"]],
           counts, "care_team", advance)
    for name, model in (("episodes", Episode), ("sleep_sessions", SleepSession), ("treatments", Treatment),
                        ("development_checks", DevelopmentCheck)):
        _write(model, [{**_stamped(entry, version), "child_id": child_id} for entry in child[name]],
               counts, name, advance)
    for name, model in (("clinician_notes", ClinicianNote), ("reminder_opt_outs", ReminderOptOut),
                        ("reminders", Reminder), ("access_log", AccessEvent)):
        _write(model, [{**record, "child_id": child_id} for record in child[name]], counts, name, advance)
    if schedule := child["reminder_schedule"]:
        recipients = schedule["recipients"]
        _write(ReminderSchedule, [{**schedule, "child_id": child_id, "known_red_flags": json.dumps(
            schedule["known_red_flags"]), "recipients": None if recipients is None else json.dumps(recipients)}],
            counts, "reminder_schedules", advance)
    # A child purged here once and now back: its phones must not be told it is gone.
    db.session.execute(delete(PurgedChild).where(PurgedChild.child_id == child_id))
    db.session.execute(delete(PurgedEntry).where(PurgedEntry.child_id == child_id))


def _insert_videos(child: dict, version: int, with_files: frozenset[str], result: ImportResult,
                   advance: Callable[[int], None]) -> None:
    rows = []
    for video in child["videos"]:
        if video["status"] != READY or video["id"] not in with_files:
            result.videos_left_out.append((video["id"], NOT_RESTORED[video["status"]]))
            continue
        own = {key: value for key, value in video.items() if key not in ("content_url", "poster_url")}
        rows.append({**_stamped(own, version), "child_id": child["id"], "upload_length": video["size_bytes"],
                     "upload_offset": video["size_bytes"], "media_key": VIDEO_KEY.format(id=video["id"]),
                     "poster_key": POSTER_KEY.format(id=video["id"])})
    advance(len(child["videos"]) - len(rows))
    _write(EpisodeVideo, rows, result.counts, "videos", advance)


def _plain(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "sync"}


def _stamped(record: dict, version: int) -> dict:
    """A synced row: its own columns, the document's sync bookkeeping, this import's version."""
    return {**_plain(record), **record["sync"], "version": version, "deleted_at": record.get("deleted_at")}


def _write(model, rows: list[dict], counts: dict, name: str, advance: Callable[[int], None]) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start:start + INSERT_CHUNK]
        db.session.execute(insert(model.__table__), chunk)
        advance(len(chunk))
    counts[name] = counts.get(name, 0) + len(rows)
