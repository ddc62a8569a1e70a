"""Who receives a child's reminders: the schedule's list (default: every caregiver), minus opt-outs and minus
accounts whose address is not verified (nothing about a child goes to an address that may be mistyped)."""
import json

from sqlalchemy import select

from backend.accounts.models import User
from backend.care_teams.models import Membership
from backend.extensions import db
from backend.reminders.models import ReminderOptOut, ReminderSchedule

UNVERIFIED = "email not verified"
UNSUBSCRIBED = "unsubscribed"


def team(child_id: str) -> dict[str, tuple[User, str]]:
    """Active members: user id -> (user, role)."""
    rows = db.session.execute(select(User, Membership.role).join(Membership, Membership.user_id == User.id).where(
        Membership.child_id == child_id, Membership.revoked_at.is_(None)))
    return {user.id: (user, role) for user, role in rows}


def chosen(schedule: ReminderSchedule, members: dict[str, tuple[User, str]]) -> list[str]:
    if schedule.recipients is not None:
        return [user_id for user_id in json.loads(schedule.recipients) if user_id in members]
    return [user_id for user_id, (_, role) in members.items() if role in ("owner", "caregiver")]


def opted_out(child_id: str) -> set[str]:
    return set(db.session.scalars(select(ReminderOptOut.user_id).where(ReminderOptOut.child_id == child_id)))


def effective(schedule: ReminderSchedule) -> list[User]:
    """The users a reminder goes to now."""
    return effective_for([schedule])[schedule.child_id]


def effective_for(schedules: list[ReminderSchedule]) -> dict[str, list[User]]:
    """The users each schedule's reminders go to now, read in two queries for any number of schedules."""
    child_ids = [schedule.child_id for schedule in schedules]
    teams: dict[str, dict[str, tuple[User, str]]] = {child_id: {} for child_id in child_ids}
    for user, child_id, role in db.session.execute(
            select(User, Membership.child_id, Membership.role).join(Membership, Membership.user_id == User.id)
            .where(Membership.child_id.in_(child_ids), Membership.revoked_at.is_(None))):
        teams[child_id][user.id] = (user, role)
    out = {(child_id, user_id) for child_id, user_id in db.session.execute(
        select(ReminderOptOut.child_id, ReminderOptOut.user_id).where(ReminderOptOut.child_id.in_(child_ids)))}
    return {schedule.child_id: [user for user_id in chosen(schedule, teams[schedule.child_id])
                                if (schedule.child_id, user_id) not in out
                                and verified(user := teams[schedule.child_id][user_id][0])]
            for schedule in schedules}


def verified(user: User) -> bool:
    return user.email_verified_at is not None


def left_out(schedule: ReminderSchedule) -> list[dict]:
    """The chosen recipients who get nothing, and why: an unverified address, or they unsubscribed."""
    members, out = team(schedule.child_id), opted_out(schedule.child_id)
    reasons = {user_id: UNVERIFIED if not verified(members[user_id][0]) else UNSUBSCRIBED
               for user_id in chosen(schedule, members) if user_id in out or not verified(members[user_id][0])}
    return [{"user_id": user_id, "name": members[user_id][0].name, "reason": reason}
            for user_id, reason in reasons.items()]
