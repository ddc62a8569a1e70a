"""Two workers writing the same new row at once: the second waits for the first and updates; it never fails.

Seen in CI: two dispatchers started together both found no heartbeat (or no summary for a child), both
inserted it, and the second died on the primary key. Here the other worker is a transaction that has
inserted the row and commits a moment later, so the race happens every time. PostgreSQL only: SQLite
has one writer at a time, so the second worker cannot have read before the first one committed.
"""
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from backend.extensions import db
from backend.reminders.dispatch import dispatch
from backend.trends.freshness import ensure_fresh

OTHER_WORKER_COMMITS_AFTER = 0.5  # seconds: long enough for ours to read, find nothing and try its insert


@pytest.fixture
def other_worker(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: no second worker can insert between our read and our write")
    engine = create_engine(database_url)
    connection = engine.connect()
    yield connection
    connection.close()
    engine.dispose()


def insert_then_commit_soon(connection, statement: str, row: dict) -> threading.Timer:
    connection.execute(text(statement), row)  # inserted, not committed yet: our worker's INSERT must wait for it
    timer = threading.Timer(OTHER_WORKER_COMMITS_AFTER, connection.commit)
    timer.start()
    return timer


def test_a_summary_another_worker_inserts_meanwhile_is_updated(app, api, family, other_worker):
    child_id = family["child"]["id"]
    with app.app_context():
        row = dict(db.session.execute(text("SELECT * FROM child_summaries WHERE child_id = :id"),
                                      {"id": child_id}).mappings().one())
        db.session.execute(text("DELETE FROM child_summaries WHERE child_id = :id"), {"id": child_id})
        db.session.commit()  # the summary is missing (a child's first write makes it): its next reader builds it
        columns = ", ".join(row)
        timer = insert_then_commit_soon(other_worker, f"INSERT INTO child_summaries ({columns}) VALUES "
                                        f"({', '.join(':' + name for name in row)})", {**row, "verdict": "resolved"})
        ensure_fresh(db.session, [child_id])
        timer.join()
    patients = api.client.get("/api/v1/children", headers=family["clinician"].headers).json["items"]
    assert [patient["summary"]["verdict"] for patient in patients] == ["insufficient_data"]  # ours, not the other's


def test_a_heartbeat_another_dispatcher_inserts_meanwhile_is_updated(app, other_worker):
    now = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    with app.app_context():
        timer = insert_then_commit_soon(other_worker, "INSERT INTO scheduler_heartbeats (name, beat_at, details) "
                                        "VALUES ('scheduler', :at, 'the other dispatcher')", {"at": now})
        result = dispatch(now, worker="this dispatcher")
        timer.join()
        beat = db.session.execute(text("SELECT details FROM scheduler_heartbeats")).scalars().all()
    assert result.sent == 0
    assert beat == ["this dispatcher"]
