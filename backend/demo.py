"""Demo data for `make run`: three accounts, two children with care teams and ten weeks of diary."""
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from sqlalchemy import exists, select

from backend.accounts.models import User
from backend.accounts.passwords import hash_password
from backend.care_teams.models import Membership
from backend.children.models import Child
from backend.db_types import utcnow
from backend.diary.models import Episode, SleepSession
from backend.diary.simulation import Course, resolving, simulate
from backend.extensions import db
from backend.reminders.models import ReminderSchedule
from backend.reminders.service import save_schedule

DEMO_PASSWORD = "demo-password"
DEMO_USERS = (
    ("parent@example.com", "Alex (demo parent)", "caregiver"),
    ("second.parent@example.com", "Sam (second parent)", "caregiver"),
    ("clinician@example.com", "Dr. Rivera (demo clinician)", "clinician"),
)
# (id, name, days old, gestational weeks, condition): one resolving, one stable course.
DEMO_CHILDREN = (
    ("demo-child-mila", "Mila", 77, 39.0, "bnsm"),
    ("demo-child-noah", "Noah", 160, 34.0, "benign_myoclonus_of_infancy"),
)
DEMO_COURSES = {
    "demo-child-mila": resolving(start=6.0, halving_weeks=2.5),
    "demo-child-noah": Course(lambda week: 3.0, sleep_state="falling_asleep"),
}
DIARY_WEEKS = 10
MODELS = {"episodes": Episode, "sleep_sessions": SleepSession}


def _ensure_user(email: str, name: str, role: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, role=role, password_hash=hash_password(DEMO_PASSWORD))
        db.session.add(user)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # demo addresses count as verified: the demo's reminders go out
    return user


def _ensure_child(spec: tuple, owner: User, team: list[tuple[User, str]]) -> Child:
    child_id, name, days_old, weeks, condition = spec
    child = db.session.get(Child, child_id)
    if child is None:
        child = Child(id=child_id, name=name, birth_date=date.today() - timedelta(days=days_old),
                      gestational_weeks=weeks, timezone="Europe/Berlin", condition=condition,
                      owner_id=owner.id)
        db.session.add(child)
        for user, role in team:
            db.session.add(Membership(child=child, user_id=user.id, role=role))
    return child


def _ensure_diary(child: Child, loggers: list[User], progress: Callable[[str], None]) -> None:
    """Ten weeks of nights and episodes, unless the child's diary has entries already."""
    if db.session.scalar(select(exists().where(SleepSession.child_id == child.id))):
        return
    rng = random.Random(child.id)  # the same demo every time
    first_night = date.today() - timedelta(days=DIARY_WEEKS * 7)
    counts, now = {"episodes": 0, "sleep_sessions": 0}, utcnow()
    for table, values in simulate(rng, child.id, child.timezone, first_night, DIARY_WEEKS * 7,
                                  DEMO_COURSES[child.id]):
        if values["started_at"] > now:
            continue  # tonight has not happened yet
        if values.get("ended_at") and values["ended_at"] > now:
            values["ended_at"] = None
        db.session.add(MODELS[table](logged_by=rng.choice(loggers).id, **values))
        counts[table] += 1
    progress(f"  {child.name}: {counts['sleep_sessions']} nights, {counts['episodes']} episodes")


def _ensure_reminders(child: Child) -> None:
    """Mila's family gets the weekly follow-up email (an .eml file under instance/outbox/ without SMTP)."""
    if db.session.get(ReminderSchedule, child.id) is None:
        save_schedule(child, {"cadence": "weekly", "weekday": "sunday", "local_time": "19:00", "enabled": True,
                              "recipients": None})


def seed_demo(progress: Callable[[str], None] = print) -> Iterator[str]:
    """Create what is missing of the demo; yield the logins to print."""
    progress("Seeding demo accounts ...")
    parent, second, clinician = (_ensure_user(*spec) for spec in DEMO_USERS)
    db.session.flush()
    progress("Seeding demo children ...")
    team = [(parent, "owner"), (second, "caregiver"), (clinician, "clinician")]
    children = [_ensure_child(spec, parent, team) for spec in DEMO_CHILDREN]
    db.session.flush()
    for child in children:
        _ensure_diary(child, [parent, second], progress)
    _ensure_reminders(children[0])
    db.session.commit()
    progress("Demo data ready.")
    for email, _name, role in DEMO_USERS:
        yield f"  {role:<10} {email:<28} password: {DEMO_PASSWORD}"
