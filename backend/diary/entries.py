"""Writing and reading diary entries for the REST API (the sync has its own bulk path).

Ids are global, so an id can be taken by an entry the caller may not see. `find_entry` is the one
place that says what an id is to a caller: an entry of theirs, or nothing. Another family's entry,
live or deleted, and a deleted entry answer alike: 404 where an entry is read, changed or deleted,
as for an unknown id; one 409 naming no one where it is created under that id.
"""
from typing import NamedTuple

from flask_babel import gettext
from flask_smorest import abort
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound

from backend.accounts.models import User
from backend.care_teams.access import READ, WRITE, child_for
from backend.children.models import Child
from backend.database import commit_keeping_loaded, start_writing
from backend.db_types import new_id, utcnow
from backend.diary.rules import record_problems
from backend.extensions import db
from backend.i18n import N_
from backend.pagination import paginate
from backend.validation import validate_client_id

EQUALITY_FILTERS = ("sleep_state", "kind", "watched", "lost_skills")
# cleared by a PUT without them
OPTIONAL_COLUMNS = ("notes", "jerk_count", "video_ref", "ended_at", "dose", "stopped_on")
# the English source; the reader reads gettext(MESSAGE)
NO_SUCH_ENTRY = N_("No such entry.")
ID_EXISTS = N_("An entry with this id exists; use PUT to replace it.")
ID_TAKEN = N_("This id is taken; choose another. Deleted entries keep their ids and are not brought back.")


def entries_of(model, child: Child, filters: dict, key: str = "started_at"):
    """Live entries of a child, filtered by their `key` column (start time or date) and equality filters."""
    query = select(model).where(model.child_id == child.id, model.deleted_at.is_(None))
    column = getattr(model, key)
    if "from_" in filters:
        query = query.where(column >= filters["from_"])
    if "to" in filters:
        query = query.where(column < filters["to"])
    for name in EQUALITY_FILTERS:
        if name in filters:
            query = query.where(getattr(model, name) == filters[name])
    return query


def page_of(query, model, key: str, args: dict) -> dict:
    """A page of `query`, newest `key` first (an instant or a day: the cursor carries either)."""
    return paginate(query, getattr(model, key), model.id, args, newest_first=True)


class Found(NamedTuple):
    entry: object | None  # the live entry, of a child the user is a member of
    taken: bool  # the id is held, by that entry or by one the user may not see


def find_entry(user: User, model, entry_id: str, need: str = READ) -> Found:
    """What an entry id is to this user: their live entry (403 when `need` is beyond their role), or
    no entry, the id free or taken; a deleted entry and another family's answer alike."""
    entry = db.session.get(model, entry_id)
    if entry is None:
        return Found(None, taken=False)
    if entry.deleted_at is not None:
        return Found(None, taken=True)
    try:
        child_for(user, entry.child_id, need=need)
    except NotFound:  # not a member: the child's own 404 would tell that the entry exists
        return Found(None, taken=True)
    return Found(entry, taken=True)


def entry_for(user: User, model, entry_id: str, need: str):
    """A live entry of a child the user may `need`; 404 as if it did not exist otherwise."""
    entry = find_entry(user, model, entry_id, need).entry
    if entry is None:
        abort(404, message=gettext(NO_SUCH_ENTRY))
    return entry


def _check_instants(entry, child: Child) -> None:
    problems = record_problems(type(entry), entry, child.birth_date, child.timezone)
    if problems:
        db.session.rollback()
        abort(422, errors={name: [message] for name, message in problems.items()})


def create_entry(model, child: Child, values: dict, user: User):
    """A new entry, added to the session. Its id is not read first: the INSERT refuses a taken one
    (`commit_created` answers that for a POST)."""
    entry_id = values.pop("id", None) or new_id()
    if values.pop("child_id", child.id) != child.id:
        abort(422, errors={"child_id": [gettext("Differs from the child in the path.")]})
    entry = model(id=entry_id, child_id=child.id, logged_by=user.id, **values)
    _check_instants(entry, child)
    start_writing()
    db.session.add(entry)
    return entry


def commit_created(entry, user: User) -> None:
    """Commit a POST's new entry. The INSERT checks the id (the primary key, deleted entries included),
    so the write costs no read for it: only when the INSERT fails is the id looked up, to answer an
    entry the user sees with a 409 that names PUT, and any other holder with the 409 PUT would give."""
    model, entry_id = type(entry), entry.id
    try:
        commit_keeping_loaded()
    except IntegrityError:
        db.session.rollback()
        found = find_entry(user, model, entry_id)
        if not found.taken:
            raise
        abort(409, message=gettext(ID_TAKEN if found.entry is None else ID_EXISTS))


def replace_entry(model, entry_id: str, values: dict, user: User) -> tuple[object, bool]:
    """PUT: create the entry under a client-chosen id, or replace the user's entry; (entry, created)."""
    if values.pop("id", entry_id) != entry_id:
        abort(422, errors={"id": [gettext("Differs from the id in the path.")]})
    try:
        validate_client_id(entry_id)
    except ValidationError as error:
        abort(422, errors={"id": error.messages})
    entry, taken = find_entry(user, model, entry_id, need=WRITE)
    if entry is not None:
        cleared = {name: None for name in OPTIONAL_COLUMNS if hasattr(model, name)}
        return update_entry(entry, {**cleared, **values}, user), False
    if "child_id" not in values:
        abort(422, errors={"child_id": [gettext("Missing data for required field.")]})
    child = child_for(user, values["child_id"], need=WRITE)
    if taken:
        abort(409, message=gettext(ID_TAKEN))
    return create_entry(model, child, {**values, "id": entry_id}, user), True


def update_entry(entry, values: dict, user: User):
    child = child_for(user, values.get("child_id", entry.child_id), need=WRITE)
    values.pop("id", None)
    for name, value in values.items():
        setattr(entry, name, value)
    _check_instants(entry, child)
    return entry


def delete_entry(entry) -> None:
    entry.deleted_at = utcnow()
