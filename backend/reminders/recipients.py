"""Who receives a child's reminders: the schedule's list (default: every caregiver), minus opt-outs."""
import json

from sqlalchemy import select

from backend.accounts.models import User
from backend.care_teams.models import Membership
from backend.extensions import db
from backend.reminders.models import ReminderOptOut, ReminderSchedule


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
    return {schedule.child_id: [teams[schedule.child_id][user_id][0]
                                for user_id in chosen(schedule, teams[schedule.child_id])
                                if (schedule.child_id, user_id) not in out] for schedule in schedules}
