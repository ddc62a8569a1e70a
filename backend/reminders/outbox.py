"""The outbox: queue reminders, one row per child, recipient, kind and period, so nothing goes out twice."""
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite

from backend.db_types import new_id
from backend.extensions import db
from backend.observability.events import count as count_event
from backend.reminders.models import Reminder


def pending_row(child_id: str, user_id: str, kind: str, key: str, due: datetime, now: datetime,
                development_prompt: bool = False) -> dict:
    """An outbox row for `queue`: pending, its first attempt at `now`."""
    return {"id": new_id(), "child_id": child_id, "user_id": user_id, "kind": kind, "period_key": key, "due_at": due,
            "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
            "development_prompt": development_prompt}


def queue(rows: list[dict]) -> int:
    """Queue reminders in one statement; a row for the same child, recipient, kind and period already there wins."""
    if not rows:
        return 0
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Reminder.__table__).on_conflict_do_nothing().returning(Reminder.__table__.c.id)
    queued = len(db.session.execute(statement, rows).all())
    count_event("reminders", "queued", amount=queued)  # /metrics
    return queued
