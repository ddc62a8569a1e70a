"""Deleting an account (DELETE /api/v1/me): everything in the caller's one transaction.

The account's tokens are revoked and its memberships end; every child it owns is deleted as
DELETE /children/{id} deletes it (a tombstone the other members' phones receive in `deleted`);
children it only co-cares for stay with their teams; its pending reminders, and those of the
children it owned, are skipped; the user row is scrubbed (no name, a placeholder email, no
usable password) and marked deleted. The purge (backend.privacy.purge) removes the rest later.
"""
from sqlalchemy import select, update

from backend.accounts.models import Token, User
from backend.care_teams.models import Membership
from backend.children.models import Child
from backend.db_types import utcnow
from backend.extensions import db
from backend.reminders.models import Reminder, ReminderSchedule

DELETED_NAME = "Deleted account"
UNUSABLE_PASSWORD = "!"  # no Argon2 hash: every password check fails


def placeholder_email(user_id: str) -> str:
    """A unique address nobody can own (.invalid is reserved), freeing the real one."""
    return f"{user_id}@deleted.invalid"


def delete_account(user: User) -> list[str]:
    """Delete the account as described above; the ids of the children it owned and deleted."""
    now = utcnow()
    owned = db.session.scalars(select(Child).where(Child.owner_id == user.id, Child.deleted_at.is_(None))).all()
    for child in owned:
        child.mark_deleted()
    for membership in db.session.scalars(select(Membership).where(
            Membership.user_id == user.id, Membership.revoked_at.is_(None))):
        membership.revoked_at = now
    owned_ids = [child.id for child in owned]
    _stop_reminders(user.id, owned_ids)
    db.session.execute(update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None))
                       .values(revoked_at=now), execution_options={"synchronize_session": False})
    user.email, user.name, user.password_hash = placeholder_email(user.id), DELETED_NAME, UNUSABLE_PASSWORD
    user.deleted_at = now
    return owned_ids


def _stop_reminders(user_id: str, owned_ids: list[str]) -> None:
    if owned_ids:
        db.session.execute(update(ReminderSchedule).where(ReminderSchedule.child_id.in_(owned_ids))
                           .values(enabled=False, next_due_at=None), execution_options={"synchronize_session": False})
    for reason, where in (("the child was deleted", Reminder.child_id.in_(owned_ids)),
                          ("the account was deleted", Reminder.user_id == user_id)):
        db.session.execute(update(Reminder).where(where, Reminder.status == "pending")
                           .values(status="skipped", last_error=reason),
                           execution_options={"synchronize_session": False})
