"""The pull's view of purged children: ids a phone may still hold, to list in `deleted`."""
from sqlalchemy import select

from backend.extensions import db
from backend.privacy.models import PurgedChild, PurgedEntry


def purged_deletions(user_id: str, last_pulled_at: int | None) -> dict[str, list[str]]:
    """Purged children the user lost after the phone's last pull, and their diaries' ids, by table."""
    if last_pulled_at is None:
        return {}
    child_ids = list(db.session.scalars(select(PurgedChild.child_id).where(
        PurgedChild.user_id == user_id, PurgedChild.lost_version > last_pulled_at).order_by(PurgedChild.child_id)))
    if not child_ids:
        return {}
    found: dict[str, list[str]] = {"children": child_ids}
    for table, entry_id in db.session.execute(select(PurgedEntry.table_name, PurgedEntry.id).where(
            PurgedEntry.child_id.in_(child_ids)).order_by(PurgedEntry.table_name, PurgedEntry.id)):
        found.setdefault(table, []).append(entry_id)
    return found


def add_purged_deletions(changes: dict, user_id: str, last_pulled_at: int | None) -> None:
    """Extend a pull's `deleted` lists; an id already listed (an id used again since) is not repeated."""
    for table, ids in purged_deletions(user_id, last_pulled_at).items():
        lists = changes[table]
        listed = {*lists["deleted"], *(raw["id"] for kind in ("created", "updated") for raw in lists[kind])}
        lists["deleted"].extend(record_id for record_id in ids if record_id not in listed)
