"""Reminder dispatch benchmark (issue 5): N due reminders rendered and handed to a local SMTP sink.

    python bench/reminders_bench.py [--quick]

Children (two caregivers each, ten weeks of diary) are written with SQLAlchemy Core and their
summaries built, as the scheduler's minute-by-minute refresh keeps them; every schedule is due at
the same minute. Then `--dispatchers` processes on PostgreSQL (one per core by default; one on
SQLite, which has one writer at a time), each doing what one `flask scheduler run` process does
in one pass: plan, claim, render (report, chart, text, HTML) and send every email to an aiosmtpd
sink in its own process on 127.0.0.1, one SMTP connection each.
The time runs from starting the dispatchers until every email is handed over.
"""
import argparse
import json
import multiprocessing
import os
import random
import socket
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend import create_app  # noqa: E402
from backend.accounts.models import User  # noqa: E402
from backend.care_teams.models import Membership  # noqa: E402
from backend.children.models import Child  # noqa: E402
from backend.db_types import new_id  # noqa: E402
from backend.diary.models import Episode, SleepSession  # noqa: E402
from backend.diary.simulation import resolving, simulate  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.reminders.dispatch import dispatch  # noqa: E402
from backend.reminders.models import ReminderSchedule  # noqa: E402
from backend.trends.freshness import refresh_all_stale  # noqa: E402
from bench.sync_bench import RESULTS, BenchConfig, databases, drop_postgres, make_app, progress  # noqa: E402

TARGET_SECONDS_FOR_10000 = 120


class CountingSink:
    def __init__(self, count):
        self.count = count

    async def handle_DATA(self, server, session, envelope):
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"


def run_sink(port: int, count, ready, stop) -> None:
    """The SMTP sink in a process of its own, as a mail server would be: its work is not the dispatcher's."""
    controller = Controller(CountingSink(count), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


@contextmanager
def smtp_sink():
    """A local aiosmtpd sink in another process: yields (port, shared count of messages received)."""
    port, count, ready, stop = free_port(), multiprocessing.Value("i", 0), multiprocessing.Event(), \
        multiprocessing.Event()
    process = multiprocessing.Process(target=run_sink, args=(port, count, ready, stop), daemon=True)
    process.start()
    ready.wait(10)
    try:
        yield port, count
    finally:
        stop.set()
        process.join(10)


def populate(children: int, due: datetime, languages: tuple[str, ...] = ("en",)) -> None:
    """Children with two caregivers each; with several languages, the caregivers read them in turn (co-parents
    in two languages: one report, chart and text per language and child)."""
    now = datetime.now(UTC)
    first = date.today() - timedelta(weeks=10)
    users = [{"id": new_id(), "email": f"p{i}-{uuid.uuid4().hex[:6]}@example.org", "name": f"Parent {i}",
              "role": "caregiver", "password_hash": "x", "created_at": now, "email_verified_at": now,
              "locale": languages[i % len(languages)]}
             for i in range(2 * children)]
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


def dispatcher(url: str, port: int, now: datetime, results) -> None:
    """One dispatcher process, as one `flask scheduler run` would be: its own app, engine and SMTP connection."""
    app = create_app(type("Bound", (BenchConfig,), {"SQLALCHEMY_DATABASE_URI": url, "MAIL_SERVER": "127.0.0.1",
                                                    "MAIL_PORT": port, "MAIL_USE_TLS": False}))
    with app.app_context():
        try:
            results.put(dispatch(now).sent)
        except Exception as error:  # noqa: BLE001 (reported to the parent, which fails the run)
            results.put(f"{type(error).__name__}: {error}")
            raise


def bench(url: str, children: int, dispatchers: int, languages: tuple[str, ...] = ("en",)) -> dict:
    due = datetime.now(UTC).replace(second=0, microsecond=0)
    app = make_app(url)
    with app.app_context():
        populate(children, due, languages)
        progress("building the children's summaries, as the scheduler's minute-by-minute refresh would have")
        refresh_all_stale(db.session)
        db.engine.dispose()
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    with smtp_sink() as (port, received):
        processes = [spawn.Process(target=dispatcher, args=(url, port, due + timedelta(seconds=1), results))
                     for _ in range(dispatchers)]
        started = time.perf_counter()
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=3600) for _ in processes]
        failures = [outcome for outcome in outcomes if isinstance(outcome, str)]
        if failures:
            raise SystemExit(f"a dispatcher failed: {failures}")
        sent = sum(outcomes)
        elapsed = time.perf_counter() - started
        for process in processes:
            process.join()
    assert sent == received.value == 2 * children, (sent, received.value)
    return {"reminders": sent, "seconds": elapsed, "per_second": sent / elapsed,
            "seconds_for_10000": 10_000 * elapsed / sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--children", type=int, default=None)
    parser.add_argument("--languages", default="en",
                        help="the caregivers' languages, in turn: 'en,de' gives every child co-parents in two")
    parser.add_argument("--dispatchers", type=int, default=os.cpu_count() or 1,
                        help="dispatcher processes on PostgreSQL, like scheduler processes (default: one per core); "
                             "SQLite has one writer at a time and runs one")
    args = parser.parse_args()
    children = args.children or (50 if args.quick else 5000)
    results = {}
    for name, url in databases():
        dispatchers = args.dispatchers if name == "postgresql" else 1
        print(f"benchmarking {name} with {dispatchers} dispatcher process(es) ...", file=sys.stderr)
        results[name] = {**bench(url, children, dispatchers, tuple(args.languages.split(","))),
                         "dispatchers": dispatchers}
        if name == "postgresql":
            drop_postgres(url)
    print(f"\n{'figure':<28}{'target':>12}" + "".join(f"{name:>14}" for name in results))
    for key, target, fmt in (("reminders", "", "{:,.0f}"), ("seconds", "", "{:.1f}"),
                             ("per_second", "", "{:.1f}"), ("seconds_for_10000", "< 120 s", "{:.0f}")):
        print(f"{key:<28}{target:>12}" + "".join(f"{fmt.format(r[key]):>14}" for r in results.values()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("reminders-quick.json" if args.quick else "reminders.json")).write_text(json.dumps(
        {"measured_at": datetime.now(UTC).isoformat(), "children": children, "dispatchers": args.dispatchers,
         "languages": args.languages,
         "results": results}, indent=2))


if __name__ == "__main__":
    main()
