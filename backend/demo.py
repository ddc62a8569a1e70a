"""Demo data for `make run`: three accounts and two children with care teams."""
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from sqlalchemy import select

from backend.accounts.models import Membership, User
from backend.accounts.passwords import hash_password
from backend.children.models import Child
from backend.extensions import db

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


def _ensure_user(email: str, name: str, role: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, role=role, password_hash=hash_password(DEMO_PASSWORD))
        db.session.add(user)
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


def seed_demo(progress: Callable[[str], None] = print) -> Iterator[str]:
    """Create what is missing of the demo; yield the logins to print."""
    progress("Seeding demo accounts ...")
    parent, second, clinician = (_ensure_user(*spec) for spec in DEMO_USERS)
    db.session.flush()
    progress("Seeding demo children ...")
    team = [(parent, "owner"), (second, "caregiver"), (clinician, "clinician")]
    for spec in DEMO_CHILDREN:
        _ensure_child(spec, parent, team)
    db.session.commit()
    progress("Demo data ready.")
    for email, _name, role in DEMO_USERS:
        yield f"  {role:<10} {email:<28} password: {DEMO_PASSWORD}"
