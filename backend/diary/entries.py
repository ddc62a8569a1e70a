"""Writing and reading diary entries for the REST API (the sync has its own bulk path)."""
from functools import cache

from flask_smorest import abort
from marshmallow import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from backend.accounts.models import User
from backend.children.access import WRITE, child_for
from backend.children.models import Child
from backend.database import commit_keeping_loaded, start_writing
from backend.db_types import new_id, utcnow
from backend.diary.rules import instant_problems
from backend.extensions import db
from backend.validation import validate_client_id

EQUALITY_FILTERS = ("sleep_state", "kind", "watched")
OPTIONAL_COLUMNS = ("notes", "jerk_count", "video_ref", "ended_at")  # cleared by a PUT without them
ID_TAKEN = "An entry with this id exists; use PUT to replace it."
ID_DELETED = "This entry was deleted; deleted entries are not brought back."


def entries_of(model, child: Child, filters: dict):
    """Live entries of a child, filtered by start time and equality filters."""
    query = select(model).where(model.child_id == child.id, model.deleted_at.is_(None))
    if "from_" in filters:
        query = query.where(model.started_at >= filters["from_"])
    if "to" in filters:
        query = query.where(model.started_at < filters["to"])
    for name in EQUALITY_FILTERS:
        if name in filters:
            query = query.where(getattr(model, name) == filters[name])
    return query


def entry_for(user: User, model, entry_id: str, need: str):
    """A live entry of a child the user may `need`; 404 as if it did not exist otherwise."""
    entry = db.session.get(model, entry_id)
    if entry is None or entry.deleted_at is not None:
        abort(404, message="No such entry.")
    child_for(user, entry.child_id, need=need)
    return entry


def _check_instants(entry, child: Child) -> None:
    problems = instant_problems(entry.started_at, getattr(entry, "ended_at", None),
                                child.birth_date, child.timezone)
    if problems:
        db.session.rollback()
        abort(422, errors={name: [message] for name, message in problems.items()})


@cache
def _id_lookup(model):
    """Who holds an id, deleted entries included: (deleted_at,) or no row; no entry loaded (built once
    per model)."""
    return select(model.deleted_at).where(model.id == bindparam("entry_id"))


def create_entry(model, child: Child, values: dict, user: User):
    """A new entry, added to the session. Its id is not read first: the INSERT refuses a taken one
    (`commit_created` answers that for a POST)."""
    entry_id = values.pop("id", None) or new_id()
    if values.pop("child_id", child.id) != child.id:
        abort(422, errors={"child_id": ["Differs from the child in the path."]})
    entry = model(id=entry_id, child_id=child.id, logged_by=user.id, **values)
    _check_instants(entry, child)
    start_writing()
    db.session.add(entry)
    return entry


def commit_created(entry) -> None:
    """Commit a POST's new entry. The INSERT checks the id (the primary key, deleted entries included),
    so the write costs no read for it: only when the INSERT fails is the id looked up, to answer a
    live one with a 409 that names PUT, and a deleted one with the 409 PUT would give."""
    model, entry_id = type(entry), entry.id
    try:
        commit_keeping_loaded()
    except IntegrityError:
        db.session.rollback()
        holder = db.session.execute(_id_lookup(model), {"entry_id": entry_id}).first()
        if holder is None:
            raise
        abort(409, message=ID_TAKEN if holder.deleted_at is None else ID_DELETED)


def replace_entry(model, entry_id: str, values: dict, user: User) -> tuple[object, bool]:
    """PUT: create the entry under a client-chosen id, or replace it; (entry, created)."""
    if values.pop("id", entry_id) != entry_id:
        abort(422, errors={"id": ["Differs from the id in the path."]})
    try:
        validate_client_id(entry_id)
    except ValidationError as error:
        abort(422, errors={"id": error.messages})
    entry = db.session.get(model, entry_id)
    if entry is not None and entry.deleted_at is not None:
        abort(409, message=ID_DELETED)
    if entry is None:
        if "child_id" not in values:
            abort(422, errors={"child_id": ["Missing data for required field."]})
        child = child_for(user, values["child_id"], need=WRITE)
        return create_entry(model, child, {**values, "id": entry_id}, user), True
    child_for(user, entry.child_id, need=WRITE)
    cleared = {name: None for name in OPTIONAL_COLUMNS if hasattr(model, name)}
    return update_entry(entry, {**cleared, **values}, user), False


def update_entry(entry, values: dict, user: User):
    child = child_for(user, values.get("child_id", entry.child_id), need=WRITE)
    values.pop("id", None)
    for name, value in values.items():
        setattr(entry, name, value)
    _check_instants(entry, child)
    return entry


def delete_entry(entry) -> None:
    entry.deleted_at = utcnow()
