"""The pull's view of purged children: ids a phone may still hold, to list in `deleted`.

The rule is the pull's for a lost child that is not purged yet (backend.sync.pull): the child goes
to a member whose phone last pulled before the member lost it, with the ids of its records that
phone may hold (there at its last pull or made on it, and made before the loss), so a removed member
learns nothing logged after the removal.

Entries purged before their version was kept (created_version NULL) are listed as they were, to
every such phone. Nothing else can tell a phone offline through the whole retention period that they
are gone (a push drops them without a word), and their set is closed: it cannot grow after the
migration that added the column.
"""
from sqlalchemy import select

from backend.extensions import db
from backend.privacy.models import PurgedChild, PurgedEntry
from backend.sync.phones import Phone


def purged_deletions(user_id: str, phone: Phone) -> dict[str, list[str]]:
    """Purged children the user lost after the phone's last pull, and their diaries' ids it may hold, by table."""
    if phone.last_pulled_at is None:
        return {}
    lost = dict(db.session.execute(select(PurgedChild.child_id, PurgedChild.lost_version).where(
        PurgedChild.user_id == user_id, PurgedChild.lost_version > phone.last_pulled_at)).all())
    if not lost:
        return {}
    found: dict[str, list[str]] = {"children": sorted(lost)}
    entries = select(PurgedEntry.table_name, PurgedEntry.id, PurgedEntry.child_id, PurgedEntry.created_version,
                     PurgedEntry.created_by_device).where(PurgedEntry.child_id.in_(list(lost)))
    for entry in db.session.execute(entries.order_by(PurgedEntry.table_name, PurgedEntry.id)):
        if entry.created_version is None or phone.may_hold(entry, lost[entry.child_id]):
            found.setdefault(entry.table_name, []).append(entry.id)
    return found


def add_purged_deletions(changes: dict, user_id: str, phone: Phone) -> None:
    """Extend a pull's `deleted` lists; an id already listed (an id used again since) is not repeated. A table
    missing from `changes` is one the phone does not have (an older schema version): nothing to tell it."""
    for table, ids in purged_deletions(user_id, phone).items():
        lists = changes.get(table)
        if lists is None:
            continue
        listed = {*lists["deleted"], *(raw["id"] for kind in ("created", "updated") for raw in lists[kind])}
        lists["deleted"].extend(record_id for record_id in ids if record_id not in listed)
