"""Push: a phone's changes, stored all together or not at all.

Order of checks: the records' shapes and values (422), the caller's right to write each child
(403), instants against the child's birth date (422), records changed on the server since the
phone's last pull by someone else (409). Only then is anything written, in the one transaction.

Concurrency (PostgreSQL; SQLite has one writer at a time): no lock is shared by all writers. A push holds
its user's advisory lock (a phone's retry waits for the push it repeats), shares the locks of the user's
memberships and of the children it writes (a removal or a deletion waits for it, or it sees them), and
locks the stored records it names in id order, so a record changed by a write that committed first is seen
changed: 409, never a lost update.

Ids are global: a record the push names may belong to a child the caller is no member of. Such a
record is not loaded as theirs; its id is only known to be taken. Deleting it is deleting an unknown
id (nothing happens), writing it is refused with the 403 a record for a child they may not write
gets, and no answer names its child.

Episode videos (schema version 2) are made by their upload only: a push may delete them (the caregivers
who may write the child, as for any record), never create or change one (422). Their files are removed
after the commit (`Pushed.deleted_videos`); an episode the push deletes takes its videos along.
"""
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import bindparam, func, insert, select, update

from backend.accounts.models import User
from backend.care_teams.models import Membership
from backend.children.models import Child
from backend.database import id_chunks
from backend.db_types import new_id, utcnow
from backend.diary.models import DevelopmentCheck, Episode, SleepSession, Treatment
from backend.diary.rules import record_problems
from backend.extensions import db
from backend.privacy.models import PurgedChild, PurgedEntry
from backend.sync.columns import COLUMNS, READ_ONLY, SCHEMA_TABLES, TABLES, Invalid, client_id, decode_record
from backend.sync.phones import Phone
from backend.trends.freshness import touch
from backend.versioning import claim_version
from backend.videos import lifecycle
from backend.videos.models import EpisodeVideo

MODELS = {"children": Child, "episodes": Episode, "sleep_sessions": SleepSession, "treatments": Treatment,
          "development_checks": DevelopmentCheck, "episode_videos": EpisodeVideo}
DIARY_TABLES = ("episodes", "sleep_sessions", "treatments", "development_checks")  # the diary a phone writes
CHILD_TABLES = (*DIARY_TABLES, "episode_videos")  # every table of one child's records


@dataclass
class TableChanges:
    """One table's records in the push, decoded."""

    upserts: dict[str, dict] = field(default_factory=dict)  # id -> stored values
    deleted: list[str] = field(default_factory=list)


@dataclass
class Push:
    """The push being stored: its records by table, and the stored rows they name."""

    tables: dict[str, TableChanges]
    existing: dict[str, dict] = field(default_factory=dict)  # table -> id -> stored row of the caller's
    taken: dict[str, set[str]] = field(default_factory=dict)  # table -> ids of rows of others' children
    children: dict[str, Child] = field(default_factory=dict)  # every child the push touches

    def ids(self, table: str) -> list[str]:
        return [*self.tables[table].upserts, *self.tables[table].deleted]

    def diary_children(self, tables: tuple[str, ...] = CHILD_TABLES) -> set[str]:
        """The children the records point to: as pushed, and as stored once `existing` is loaded."""
        found = set()
        for table in tables:
            found.update(values["child_id"] for values in self.tables[table].upserts.values())
            found.update(row.child_id for row in self.existing.get(table, {}).values())
        return found


@dataclass
class Pushed:
    deleted_videos: list[str]  # their files are for lifecycle.sweep once the push is committed


def push_changes(user: User, changes: dict, phone: Phone) -> Pushed:
    push = decode_changes(changes)
    if user.role != "caregiver":
        abort(403, message=gettext("Clinicians read the diary; only caregivers push changes."))
    version = claim_version(along=_one_push_per_user(user))
    _drop_purged(push)
    memberships = _memberships(user)
    _load_existing(push, memberships)
    tombstoned = _check_access(push, memberships)
    _drop_records_of_deleted_children(push, tombstoned)
    _check_instants(push)
    _check_conflicts(push, phone)
    return Pushed(_apply(push, user, phone, version))


# ---- 422: shapes and values ----------------------------------------------------------------

def decode_changes(changes: dict) -> Push:
    errors: dict = {}
    refused = _refused_tables(changes, errors)
    tables = {table: _decode_table(table, changes.get(table) or {}, errors) for table in TABLES}
    if errors:
        first = next(iter(errors))
        message = refused or gettext("Some records are not valid, e.g. in %(table)s; nothing was stored.",
                                     table=first)
        abort(422, message=message, errors=errors)
    return Push(tables)


def _refused_tables(changes: dict, errors: dict) -> str | None:
    """Records created or updated in a table a phone only reads, or one this server does not keep yet: each
    named in `errors` under its table; the message says why."""
    message = None
    for table in SCHEMA_TABLES:
        if table in COLUMNS and table not in READ_ONLY:
            continue
        lists = changes.get(table) or {}
        records = [*(lists.get("created") or []), *(lists.get("updated") or [])]
        if not records:
            continue
        if table in READ_ONLY:
            why = str(READ_ONLY[table])
            # Translators: %(why)s is a sentence saying why the records cannot be pushed.
            refusal = gettext("%(why)s Nothing was stored.", why=why)
        else:
            why = refusal = gettext("This server does not keep %(table)s yet; nothing was stored. Update the "
                                    "server first.", table=table)
        errors[table] = {str(raw.get("id")): {"id": [why]} for raw in records}
        message = message or refusal
    return message


def _decode_table(table: str, lists: dict, errors: dict) -> TableChanges:
    decoded, table_errors = TableChanges(), {}
    upserts = [] if table in READ_ONLY else [*(lists.get("created") or []), *(lists.get("updated") or [])]
    for raw in upserts:
        record_id = raw.get("id")
        try:
            client_id(record_id)
        except Invalid as error:
            table_errors[str(record_id)] = {"id": [str(error)]}
            continue
        values, problems = decode_record(table, raw)
        if record_id in decoded.upserts:
            problems["id"] = gettext("The record appears twice in this push.")
        if problems:
            table_errors[record_id] = {name: [message] for name, message in problems.items()}
        decoded.upserts[record_id] = values
    for record_id in lists.get("deleted") or []:
        try:
            client_id(record_id)
        except Invalid as error:
            table_errors[str(record_id)] = {"id": [str(error)]}
            continue
        if record_id in decoded.upserts:
            table_errors[record_id] = {"id": [gettext("The record is both changed and deleted in this push.")]}
        decoded.deleted.append(record_id)
    if table_errors:
        errors.setdefault(table, {}).update(table_errors)
    return decoded


# ---- purged children: gone for good --------------------------------------------------------------

def _drop_purged(push: Push) -> None:
    """A phone offline through the whole retention period may push a purged child or its records:
    dropped, as for a deleted child, never created anew; its next pull lists them in `deleted`."""
    child_ids = set(push.ids("children")) | push.diary_children()
    purged = {found for some in id_chunks(sorted(child_ids)) for found in db.session.scalars(
        select(PurgedChild.child_id).where(PurgedChild.child_id.in_(some)))}
    purged_entries = {table: {found for some in id_chunks(push.ids(table)) for found in db.session.scalars(
        select(PurgedEntry.id).where(PurgedEntry.table_name == table, PurgedEntry.id.in_(some)))}
        for table in CHILD_TABLES}
    for table, lists in push.tables.items():
        gone = purged if table == "children" else purged_entries[table]
        for record_id in [rid for rid, values in lists.upserts.items()
                          if rid in gone or values.get("child_id") in purged]:
            del lists.upserts[record_id]
        lists.deleted = [record_id for record_id in lists.deleted if record_id not in gone]


# ---- 403: who may write which child ----------------------------------------------------------

def _one_push_per_user(user: User):
    """PostgreSQL's advisory lock of the pushing user, taken with the version (SQLite has one writer anyway)."""
    return func.pg_advisory_xact_lock(func.hashtextextended("push:" + user.id, 0))


def _memberships(user: User) -> dict[str, Membership]:
    return {m.child_id: m for m in db.session.scalars(select(Membership).where(
        Membership.user_id == user.id, Membership.revoked_at.is_(None)).with_for_update(read=True, of=Membership))}


def _load_existing(push: Push, memberships: dict) -> None:
    """The stored rows the push names, and every child its diary records point to; rows of children the
    caller is no member of go into `taken` only."""
    for table in CHILD_TABLES:
        rows = _rows_by_id(MODELS[table], push.ids(table))
        push.existing[table] = {rid: row for rid, row in rows.items() if row.child_id in memberships}
        push.taken[table] = set(rows) - set(push.existing[table])
    push.children = _rows_by_id(Child, list(set(push.ids("children")) | push.diary_children()))
    named = set(push.ids("children")) & set(push.children)
    push.existing["children"] = {cid: push.children[cid] for cid in named if cid in memberships}
    push.taken["children"] = named - set(push.existing["children"])


def _rows_by_id(model, ids: list[str]) -> dict:
    """The ids (client ids, already checked to be [A-Za-z0-9_-]) go in as literals. Bound, every chunk
    was one statement that psycopg prepares and PostgreSQL then runs with a generic plan, which on a
    table without fresh statistics scanned it whole per chunk: a 20,000-record push repeated after a
    lost reply (the retry of a phone whose server was killed) took 35 s instead of 5. SQLite plans
    every statement afresh: there, bound parameters spare rendering 500 literals per chunk."""
    found, literal = {}, db.engine.dialect.name == "postgresql"
    lock = {"read": True} if model is Child else {"key_share": True}  # FOR SHARE, FOR NO KEY UPDATE
    for some in id_chunks(sorted(ids)):
        chunk = bindparam("ids", some, expanding=True, literal_execute=literal)
        rows = db.session.scalars(select(model).where(model.id.in_(chunk)).order_by(model.id)
                                .with_for_update(of=model, **lock))
        found.update((row.id, row) for row in rows)
    return found


def _check_access(push: Push, memberships: dict) -> set[str]:
    """403 when the push writes a child the user may not write; else the deleted children whose records are dropped."""
    writers = {child_id for child_id, m in memberships.items() if m.can_write}
    existing_children = push.existing["children"]
    tombstoned = {cid for cid, child in push.children.items()
                  if child.deleted_at is not None and cid in writers}
    new_children = set(push.tables["children"].upserts) - set(push.children)
    writable = (writers - tombstoned) | new_children
    denied: dict = {}
    for child_id in set(push.tables["children"].upserts) & set(push.children):
        if child_id not in writers:
            denied.setdefault("children", {})[child_id] = [gettext("You may not change this child.")]
    for child_id in push.tables["children"].deleted:
        child = existing_children.get(child_id)
        if child is not None and child.deleted_at is None and _role(memberships, child_id) != "owner":
            denied.setdefault("children", {})[child_id] = [gettext("Only the child's owner may delete it.")]
    for table in CHILD_TABLES:
        for record_id, problem in _write_problems(push, table, writable, tombstoned):
            denied.setdefault(table, {})[record_id] = [problem]
    if denied:
        abort(403, message=gettext("This push writes children you may not write; nothing was stored."),
              errors=denied)
    return tombstoned


def _role(memberships: dict, child_id: str) -> str | None:
    membership = memberships.get(child_id)
    return membership.role if membership else None


def _write_problems(push: Push, table: str, writable: set[str],
                    tombstoned: set[str]) -> Iterable[tuple[str, str]]:
    """(record id, why not) for each record the push may not write. The child the phone names comes
    first, so that a record whose id another family's child holds answers as a new record would; where
    the id alone stops it, the answer names no child. Records of a deleted child are dropped, whatever
    their ids."""
    existing, taken, allowed = push.existing[table], push.taken[table], writable | tombstoned
    for record_id, values in push.tables[table].upserts.items():
        stored = existing.get(record_id)
        if values["child_id"] not in allowed:
            yield record_id, gettext("You may not write child %(child)s.", child=values["child_id"])
        elif record_id in taken and values["child_id"] not in tombstoned:
            yield record_id, gettext("This id is taken; choose another.")
        elif stored is not None and stored.child_id not in allowed:
            yield record_id, gettext("You may not write child %(child)s.", child=stored.child_id)
    for record_id in push.tables[table].deleted:
        stored = existing.get(record_id)
        if stored is not None and stored.child_id not in allowed:
            yield record_id, gettext("You may not write child %(child)s.", child=stored.child_id)


def _drop_records_of_deleted_children(push: Push, tombstoned: set[str]) -> None:
    """Offline edits to a child deleted meanwhile are dropped, as the child's tombstone says."""
    for table in DIARY_TABLES:
        existing, upserts = push.existing[table], push.tables[table].upserts
        for record_id in [rid for rid, values in upserts.items() if values["child_id"] in tombstoned
                          or (rid in existing and existing[rid].child_id in tombstoned)]:
            del upserts[record_id]


# ---- 422: instants and dates against the child -------------------------------------------------------

def _check_instants(push: Push) -> None:
    children = {cid: (c.birth_date, c.timezone) for cid, c in push.children.items()}
    children.update({cid: (v["birth_date"], v["timezone"])
                     for cid, v in push.tables["children"].upserts.items()})
    errors: dict = {}
    for table in DIARY_TABLES:
        for record_id, values in push.tables[table].upserts.items():
            birth_date, timezone = children[values["child_id"]]
            problems = record_problems(MODELS[table], values, birth_date, timezone)
            if problems:
                errors.setdefault(table, {})[record_id] = {k: [m] for k, m in problems.items()}
    if errors:
        abort(422, message=gettext("Some records lie in the future or before the birth, or stop before they "
                                   "start; nothing was stored."),
              errors=errors)


# ---- 409: changed on the server since the phone's last pull ----------------------------------

def _check_conflicts(push: Push, phone: Phone) -> None:
    last = phone.last_pulled_at or 0
    conflicts: dict = {}
    for table in TABLES:
        for record_id in push.ids(table):
            row = push.existing[table].get(record_id)
            if row is not None and row.version > last and not _own_change(row, phone):
                conflicts.setdefault(table, {})[record_id] = [gettext("Changed on the server since your last pull.")]
    if conflicts:
        abort(409, message=gettext("Records changed on the server since your last pull: pull, then push again."),
              errors=conflicts)


def _own_change(row, phone: Phone) -> bool:
    """This phone's own earlier push (a reply it never got) is no conflict."""
    return phone.device_id is not None and row.updated_by_device == phone.device_id


# ---- writing ----------------------------------------------------------------------------

def _apply(push: Push, user: User, phone: Phone, version: int) -> list[str]:
    """Write the push; the ids of the videos it deleted (their files are still there)."""
    now = utcnow()
    stamp = {"version": version, "updated_by_device": phone.device_id, "updated_at": now}
    for table in TABLES:
        if table in READ_ONLY:
            continue
        model, existing = MODELS[table], push.existing[table]
        inserts, updates = [], []
        for record_id, values in push.tables[table].upserts.items():
            row = existing.get(record_id)
            if row is None:
                inserts.append({**values, **stamp, "id": record_id, "created_at": now,
                                "created_version": version, "created_by_device": phone.device_id,
                                **_owner_columns(table, user)})
            elif row.deleted_at is None:
                updates.append({**values, **stamp, "_id": record_id})
        _insert(model, inserts)
        _update(model, updates)
        deleted = [rid for rid in push.tables[table].deleted
                   if rid in existing and existing[rid].deleted_at is None]
        _update(model, [{**stamp, "deleted_at": now, "_id": rid} for rid in deleted])
    _grant_ownership(push, user, version, now)
    touch(db.session, set(push.tables["children"].upserts) | push.diary_children(DIARY_TABLES))
    return _delete_videos(push, phone, now)


def _delete_videos(push: Push, phone: Phone, now) -> list[str]:
    """The videos the push deletes, and those of the episodes it deletes, marked deleted by this phone."""
    existing = push.existing["episode_videos"]
    videos = [existing[vid] for vid in dict.fromkeys(push.tables["episode_videos"].deleted)
              if vid in existing and existing[vid].deleted_at is None]
    episodes = [eid for eid in push.tables["episodes"].deleted if eid in push.existing["episodes"]]
    deleted = lifecycle.delete_videos(videos, now) + lifecycle.delete_videos_of_episodes(episodes, now)
    for video_id in deleted:
        db.session.get(EpisodeVideo, video_id).updated_by_device = phone.device_id  # loaded: no query
    return deleted


def _owner_columns(table: str, user: User) -> dict:
    return {"owner_id": user.id} if table == "children" else {"logged_by": user.id}


def _insert(model, rows: list[dict]) -> None:
    if rows:
        db.session.execute(insert(model.__table__), rows)


def _update(model, rows: list[dict]) -> None:
    if not rows:
        return
    table = model.__table__
    columns = [name for name in rows[0] if name != "_id"]
    statement = update(table).where(table.c.id == bindparam("_id")).values(
        {name: bindparam(name) for name in columns})
    db.session.execute(statement, rows, execution_options={"synchronize_session": False})


def _grant_ownership(push: Push, user: User, version: int, now) -> None:
    new_children = set(push.tables["children"].upserts) - set(push.existing["children"])
    _insert(Membership, [{"id": new_id(), "child_id": child_id, "user_id": user.id, "role": "owner",
                          "created_at": now, "first_granted_version": version,
                          "granted_version": version} for child_id in new_children])
