"""Pull: what changed for this user since `last_pulled_at`, read in one snapshot.

A phone gets a record as `created` when it cannot have it yet (new to the user since its last
pull, and not made on this phone), as `updated` when it has it, and ids in `deleted` when the
record was deleted or the user lost the child (revoked, or the child deleted). A lost child's ids
are only those the phone may hold: made on it, or there at its last pull, and made before the loss;
`last_pulled_at` is the caller's word, so a removed member learns nothing logged after the removal.

A pull answers the highest version it has seen whole (backend.versioning). On PostgreSQL it may also see
records stamped above it; it sends those the phone has, updated or not, as they are (the next pull sends them
again, as `updated`), and holds back the creations among them, and children granted above it, for the next pull,
which sends them as `created`, once: a phone is never told to create what it has, nor to update what it lacks.
The next pull reads what was held back even when a transaction whose id came first changed it since, leaving
it a version below its creation's (backend.versioning.changed_since).

A phone gets the tables of its schema version (`tables_of`): a version-1 phone never hears of a table
version 2 added. Right after its schema migration, the phone names the tables the migration added, and
gets every record of those it may see, as a first pull would (WatermelonDB's "migration sync").
"""
from dataclasses import dataclass, field, replace
from functools import cache

from sqlalchemy import and_, false, or_, select

from backend.care_teams.models import Membership
from backend.children.models import Child
from backend.diary.models import DevelopmentCheck, Episode, SleepSession, Treatment
from backend.extensions import db
from backend.privacy.tombstones import add_purged_deletions
from backend.sync.columns import COLUMNS, encode_row, tables_of, tuple_encoder
from backend.sync.phones import Phone
from backend.versioning import as_version, changed_since, current_version, version_column
from backend.videos.models import EpisodeVideo

# The tables of one child's records, each row with child_id and deleted_at; a table of the phone's schema
# missing here would be sent empty.
DIARY_MODELS = {"episodes": Episode, "sleep_sessions": SleepSession, "treatments": Treatment,
                "development_checks": DevelopmentCheck, "episode_videos": EpisodeVideo}
SYNC_ONLY_COLUMNS = ("id", "deleted_at", "created_version", "created_by_device")


@dataclass
class ChildPlan:
    """Which children the phone gets in full, only their changes, or loses."""

    new: set[str] = field(default_factory=set)
    known: set[str] = field(default_factory=set)
    gone: dict[str, int] = field(default_factory=dict)  # child id -> the version at which the user lost it
    as_clinician: set[str] = field(default_factory=set)  # new and known children the user reads as a clinician
    version: int = 0  # the version the pull has seen whole: creations above it wait for the next pull


@dataclass
class Pulled:
    body: dict  # the response: changes and timestamp
    read_as_clinician: set[str]  # children whose data reached one of their clinicians: for the audit log


def pull_changes(user_id: str, phone: Phone) -> Pulled:
    """Every write takes a version above the last one seen whole, and a purged child's tombstone carries the
    version at which the member lost it, so when the clock still stands at the phone's `last_pulled_at` nothing
    written since can be sent whole yet (the first pull the clock has moved for reads it): the empty pull, the
    commonest, ends after the memberships (a migration pull still reads the tables the migration added)."""
    changes = {table: {"created": [], "updated": [], "deleted": []} for table in tables_of(phone.schema_version)}
    plan, timestamp = _plan_children(user_id, phone, changes["children"])
    since = {table: lists for table, lists in changes.items() if table not in phone.migrating}
    if timestamp != phone.last_pulled_at:  # else no write since: nothing more to read (the docstring)
        for table, model in DIARY_MODELS.items():
            if table in since:
                _add_diary_rows(since[table], model, table, plan, phone)
        add_purged_deletions(since, user_id, phone)  # children purged since
    _add_migrated_tables(changes, plan, phone)
    return Pulled({"changes": changes, "timestamp": timestamp}, _read_as_clinician(changes, plan))


def _add_migrated_tables(changes: dict, plan: ChildPlan, phone: Phone) -> None:
    """Every live record of the tables the phone's migration added, of every child it may see, as if it
    had never pulled them: it cannot hold any, so nothing goes in `deleted`."""
    everything = ChildPlan(new=plan.new | plan.known, version=plan.version)
    first_pull = Phone(None, phone.device_id, phone.schema_version)
    for table in phone.migrating:
        if table in DIARY_MODELS and everything.new:
            _add_diary_rows(changes[table], DIARY_MODELS[table], table, everything, first_pull)


def _read_as_clinician(changes: dict, plan: ChildPlan) -> set[str]:
    """The children of `plan.as_clinician` with a record in created or updated (ids in deleted are no data)."""
    if not plan.as_clinician:
        return set()
    read = {raw["id"] for kind in ("created", "updated") for raw in changes["children"][kind]}
    read.update(raw["child_id"] for table in DIARY_MODELS if table in changes for kind in ("created", "updated")
                for raw in changes[table][kind])
    return read & plan.as_clinician


def _active_at(membership: Membership, version: int) -> bool:
    """Was the membership in force when the phone pulled at `version`?"""
    revoked = membership.revoked_version
    if membership.granted_version <= version:
        return not (revoked is not None and membership.granted_version < revoked <= version)
    return membership.first_granted_version <= version and revoked is not None and revoked > version


def _had_child(membership: Membership, child: Child, phone: Phone) -> bool:
    if phone.last_pulled_at is None:
        return False
    last = phone.last_pulled_at
    if child.deleted_at is not None and child.version <= last:
        return False
    if _active_at(membership, last):
        return child.created_version <= last or phone.made(child)
    revoked_before = membership.revoked_version is not None and membership.revoked_version <= last
    return phone.made(child) and not revoked_before  # made on this phone since: granted with it


def _lost_at(membership: Membership, child: Child) -> int:
    """The version at which the user lost the child: removed from its team, or the child deleted."""
    lost = [membership.revoked_version if membership.revoked_at is not None else None,
            child.version if child.deleted_at is not None else None]
    return min(version for version in lost if version is not None)


def _plan_children(user_id: str, phone: Phone, child_changes: dict) -> tuple[ChildPlan, int]:
    """The plan, and the version this snapshot has seen whole (read with the memberships: one round trip less).
    The answer never goes back: an honest `last_pulled_at` is a version seen whole already."""
    rows = db.session.execute(select(Membership, Child, version_column()).join(Child, Child.id == Membership.child_id)
                              .where(Membership.user_id == user_id)).all()
    version = max(as_version(rows[0][2]) if rows else current_version(), phone.last_pulled_at or 0)
    plan = ChildPlan(version=version)
    next_pull = replace(phone, last_pulled_at=version)
    for membership, child, _ in rows:
        had = _had_child(membership, child, phone)
        if membership.revoked_at is None and child.deleted_at is None:
            if not (had or _had_child(membership, child, next_pull)):
                continue  # granted or created above the version seen whole: the next pull sends it, once
            (plan.known if had else plan.new).add(child.id)
            if membership.role == "clinician":
                plan.as_clinician.add(child.id)
            _add_child(child_changes, child, had, phone)
        elif had:
            plan.gone[child.id] = _lost_at(membership, child)
            child_changes["deleted"].append(child.id)
    return plan, version


def _add_child(child_changes: dict, child: Child, had: bool, phone: Phone) -> None:
    if had and child.version <= phone.last_pulled_at:
        return
    kind = "updated" if phone.has(child, had) else "created"
    child_changes[kind].append(encode_row("children", child))


@cache
def _diary_columns(table: str):
    """The columns a pull reads of a diary table, and the encoder of its rows: built once."""
    names = [*SYNC_ONLY_COLUMNS, *COLUMNS[table]]
    return select(*(getattr(DIARY_MODELS[table], name) for name in names)), tuple_encoder(table, names)


def _add_diary_rows(table_changes: dict, model, table: str, plan: ChildPlan, phone: Phone) -> None:
    columns, encode = _diary_columns(table)
    wanted = [model.child_id.in_(plan.new)] if plan.new else []
    if plan.known:
        wanted.append(and_(model.child_id.in_(plan.known), changed_since(model, phone.last_pulled_at)))
    for row in db.session.execute(columns.where(or_(false(), *wanted))):
        if row.created_version > plan.version and not phone.made(row):
            continue  # created above the version seen whole: the next pull sends it, once
        had_child = row.child_id in plan.known
        if row.deleted_at is not None:
            if had_child:
                table_changes["deleted"].append(row.id)
            continue
        kind = "updated" if phone.has(row, had_child) else "created"
        table_changes[kind].append(encode(row))
    if plan.gone:
        _add_lost_rows(table_changes, model, plan.gone, phone)


def _add_lost_rows(table_changes: dict, model, gone: dict[str, int], phone: Phone) -> None:
    """Ids of lost children's records the phone may hold, never of one logged after the loss or its last pull."""
    rows = db.session.execute(select(model.id, model.child_id, model.created_version, model.created_by_device)
                              .where(model.child_id.in_(list(gone))))
    table_changes["deleted"].extend(row.id for row in rows if phone.may_hold(row, gone[row.child_id]))
