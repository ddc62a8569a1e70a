"""Reminder dispatch benchmark (issue 5): N due reminders rendered and handed to a local SMTP sink.

    python bench/reminders_bench.py [--quick]

Children (two caregivers each, ten weeks of diary) are written with SQLAlchemy Core; every
schedule is due at the same minute; one `dispatch()` pass renders (report, chart, text, HTML)
and sends every email to an aiosmtpd sink on 127.0.0.1 over one SMTP connection.
"""
import argparse
import json
import random
import socket
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.accounts.models import Membership, User  # noqa: E402
from backend.children.models import Child  # noqa: E402
from backend.db_types import new_id  # noqa: E402
from backend.diary.models import Episode, SleepSession  # noqa: E402
from backend.diary.simulation import resolving, simulate  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.reminders.dispatch import dispatch  # noqa: E402
from backend.reminders.models import ReminderSchedule  # noqa: E402
from bench.sync_bench import RESULTS, databases, drop_postgres, make_app, progress  # noqa: E402

TARGET_SECONDS_FOR_10000 = 120


class CountingSink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def populate(children: int, due: datetime) -> None:
    now = datetime.now(UTC)
    first = date.today() - timedelta(weeks=10)
    users = [{"id": new_id(), "email": f"p{i}-{uuid.uuid4().hex[:6]}@example.org", "name": f"Parent {i}",
              "role": "caregiver", "password_hash": "x", "created_at": now} for i in range(2 * children)]
    db.session.execute(insert(User.__table__), users)
    for index in range(children):
        _child(index, users[2 * index]["id"], users[2 * index + 1]["id"], first, due, now)
        if index % 500 == 499:
            db.session.commit()
            progress(f"children {index + 1}/{children}")
    db.session.commit()


def _child(index: int, owner: str, partner: str, first: date, due: datetime, now: datetime) -> None:
    child_id = f"bench-{index}-{uuid.uuid4().hex[:6]}"
    db.session.execute(insert(Child.__table__), [{
        "id": child_id, "name": f"Baby {index}", "birth_date": first - timedelta(weeks=2), "gestational_weeks": 39.0,
        "timezone": "Europe/Berlin", "condition": "unspecified", "owner_id": owner, "created_at": now,
        "updated_at": now, "version": 1, "created_version": 1}])
    team = ((owner, "owner"), (partner, "caregiver"))
    db.session.execute(insert(Membership.__table__), [
        {"id": new_id(), "child_id": child_id, "user_id": user, "role": role, "created_at": now,
         "first_granted_version": 1, "granted_version": 1} for user, role in team])
    rows = {"episodes": [], "sleep_sessions": []}
    for table, values in simulate(random.Random(index), child_id, "Europe/Berlin", first, 70, resolving(5, 3)):
        rows[table].append({**values, "logged_by": owner, "created_at": now, "updated_at": now, "version": 1,
                            "created_version": 1})
    db.session.execute(insert(Episode.__table__), rows["episodes"])
    db.session.execute(insert(SleepSession.__table__), rows["sleep_sessions"])
    db.session.execute(insert(ReminderSchedule.__table__), [{
        "child_id": child_id, "cadence": "weekly", "weekday": "sunday", "local_time": "19:00",
        "timezone": "Europe/Berlin", "enabled": True, "recipients": None, "anchor": first, "next_due_at": due,
        "known_red_flags": "[]", "created_at": now, "updated_at": now}])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench(app, children: int) -> dict:
    due = datetime.now(UTC).replace(second=0, microsecond=0)
    with app.app_context():
        populate(children, due)
    sink, port = CountingSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    try:
        with app.app_context():
            started = time.perf_counter()
            result = dispatch(due + timedelta(seconds=1))
            elapsed = time.perf_counter() - started
    finally:
        controller.stop()
    assert result.sent == sink.count == 2 * children, (result, sink.count)
    return {"reminders": result.sent, "seconds": elapsed, "per_second": result.sent / elapsed,
            "seconds_for_10000": 10_000 * elapsed / result.sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--children", type=int, default=None)
    args = parser.parse_args()
    children = args.children or (50 if args.quick else 5000)
    results = {}
    for name, url in databases():
        print(f"benchmarking {name} ...", file=sys.stderr)
        app = make_app(url)
        results[name] = bench(app, children)
        with app.app_context():
            db.engine.dispose()
        if name == "postgresql":
            drop_postgres(url)
    print(f"\n{'figure':<28}{'target':>12}" + "".join(f"{name:>14}" for name in results))
    for key, target, fmt in (("reminders", "", "{:,.0f}"), ("seconds", "", "{:.1f}"),
                             ("per_second", "", "{:.1f}"), ("seconds_for_10000", "< 120 s", "{:.0f}")):
        print(f"{key:<28}{target:>12}" + "".join(f"{fmt.format(r[key]):>14}" for r in results.values()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("reminders-quick.json" if args.quick else "reminders.json")).write_text(json.dumps(
        {"measured_at": datetime.now(UTC).isoformat(), "children": children, "results": results}, indent=2))


if __name__ == "__main__":
    main()
