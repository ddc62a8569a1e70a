"""Sync benchmarks (issue 3): push ingest against a raw Core bulk insert, first and empty pulls.

Runs the real app in-process (WSGI test client: the server's own work, no socket) against a
fresh SQLite file and, when reachable, a scratch PostgreSQL database. Prints one table and
writes the figures as JSON to bench/results/sync.json.

    python bench/sync_bench.py [--quick]
"""
import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import delete, insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend import create_app  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.diary.models import Episode  # noqa: E402
from backend.diary.simulation import Course, simulate  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.sync.columns import to_epoch_ms  # noqa: E402

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"push_episodes_per_s": 10_000, "push_vs_core": 0.15, "first_pull_p95_ms": 200, "empty_pull_p95_ms": 10}


class BenchConfig(Config):
    SECRET_KEY = "bench"
    ARGON2_TIME_COST, ARGON2_MEMORY_COST_KIB = 1, 64
    LOG_LEVEL = "WARNING"
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def databases() -> list[tuple[str, str]]:
    found = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")]
    try:
        name = f"myodiary_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        found.append(("postgresql", POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
                      + f"/{name}"))
    except psycopg.OperationalError as error:
        print(f"PostgreSQL not reachable, benchmarking SQLite only: {error}", file=sys.stderr)
    return found


def drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(url: str):
    from flask_migrate import upgrade

    app = create_app(type("Bound", (BenchConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    with app.app_context():
        upgrade()
    return app


def sign_up(client, email: str) -> dict:
    client.post("/api/v1/users", json={"email": email, "password": "bench-password", "name": "B",
                                       "role": "caregiver"})
    token = client.post("/api/v1/tokens", json={"email": email, "password": "bench-password"}).json["token"]
    return {"Authorization": f"Bearer {token}"}


def new_child(client, headers, birth: date) -> str:
    return client.post("/api/v1/children", headers=headers, json={
        "name": "Bench", "birth_date": birth.isoformat(), "timezone": "Europe/Berlin", "condition": "bnsm"}).json["id"]


def raw_episodes(child_id: str, count: int) -> list[dict]:
    start = datetime.now(UTC) - timedelta(days=300)
    return [{"id": f"b{uuid.uuid4().hex[:15]}", "child_id": child_id,
             "started_at": to_epoch_ms(start + timedelta(minutes=37 * i)), "duration_seconds": 30,
             "timezone": "Europe/Berlin", "sleep_state": "asleep", "stopped_when_woken": "yes", "side": "both",
             "body_parts": '["arms","legs"]', "signs": "[]", "triggers": '["fatigue"]', "jerk_count": 12,
             "notes": None, "video_ref": None, "logged_by": "", "created_at": 0, "updated_at": 0,
             "_status": "created", "_changed": ""} for i in range(count)]


def push(client, headers, tables: dict, last: int) -> None:
    body = {name: {"created": tables.get(name, []), "updated": [], "deleted": []}
            for name in ("children", "episodes", "sleep_sessions")}
    response = client.post(f"/api/v1/sync?last_pulled_at={last}&device_id=benchphone", data=json.dumps(body),
                           headers=headers)
    assert response.status_code == 200, response.json


def pull(client, headers, last) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.get(f"/api/v1/sync?last_pulled_at={last}&device_id=benchphone2", headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    return elapsed, response.json


def bench_push(app, client, headers, total: int, batch: int) -> dict:
    child_id = new_child(client, headers, date.today() - timedelta(days=400))
    last = pull(client, headers, "null")[1]["timestamp"]
    records = raw_episodes(child_id, total)
    started = time.perf_counter()
    for offset in range(0, total, batch):
        push(client, headers, {"episodes": records[offset:offset + batch]}, last)
        progress(f"pushed {min(offset + batch, total)}/{total}")
    api_rate = total / (time.perf_counter() - started)
    core_rate = bench_core_insert(app, child_id, records, batch)
    return {"push_episodes_per_s": api_rate, "core_rows_per_s": core_rate, "push_vs_core": api_rate / core_rate}


def bench_core_insert(app, child_id: str, records: list[dict], batch: int) -> float:
    """The floor no API can beat: the same rows, SQLAlchemy Core executemany, same table, same batches."""
    user_id = None
    with app.app_context():
        user_id = db.session.execute(db.text("SELECT owner_id FROM children WHERE id = :c"), {"c": child_id}).scalar()
        now = datetime.now(UTC)
        rows = [{**{k: v for k, v in r.items() if k not in ("_status", "_changed", "created_at", "updated_at")},
                 "id": "core" + r["id"], "started_at": datetime.fromtimestamp(r["started_at"] / 1000, UTC),
                 "logged_by": user_id, "created_at": now, "updated_at": now, "version": 1, "created_version": 1}
                for r in records]
        started = time.perf_counter()
        for offset in range(0, len(rows), batch):
            db.session.execute(insert(Episode.__table__), rows[offset:offset + batch])
            db.session.commit()
        rate = len(rows) / (time.perf_counter() - started)
        db.session.execute(delete(Episode.__table__).where(Episode.id.like("core%")))
        db.session.commit()
    return rate


def two_year_child(client, headers) -> str:
    """A child with two years of history: about 5,000 episodes and 700 nights."""
    child_id = new_child(client, headers, date.today() - timedelta(days=740))
    last = pull(client, headers, "null")[1]["timestamp"]
    rng = random.Random(7)
    rows = list(simulate(rng, child_id, "Europe/Berlin", date.today() - timedelta(days=705), 700,
                         Course(lambda week: 7.5, watched_share=0.95)))
    tables = {"episodes": [], "sleep_sessions": []}
    for table, values in rows:
        raw = {**values, "started_at": to_epoch_ms(values["started_at"])}
        if table == "sleep_sessions":
            raw["ended_at"] = to_epoch_ms(values["ended_at"])
        tables[table].append(raw)
    tables["episodes"] = tables["episodes"][:5000]
    push(client, headers, tables, last)
    progress(f"two-year child: {len(tables['episodes'])} episodes, {len(tables['sleep_sessions'])} nights")
    return child_id


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000


def bench_pulls(client, runs: int) -> dict:
    headers = sign_up(client, f"pull-{uuid.uuid4().hex[:6]}@example.org")
    two_year_child(client, headers)
    first = [pull(client, headers, "null")[0] for _ in range(runs)]
    last = pull(client, headers, "null")[1]["timestamp"]
    empty = [pull(client, headers, last)[0] for _ in range(runs * 5)]
    first_p50, first_p95 = percentiles(first)
    empty_p50, empty_p95 = percentiles(empty)
    return {"first_pull_p50_ms": first_p50, "first_pull_p95_ms": first_p95,
            "empty_pull_p50_ms": empty_p50, "empty_pull_p95_ms": empty_p95}


def run(quick: bool) -> dict:
    results = {}
    for name, url in databases():
        print(f"benchmarking {name} ...", file=sys.stderr)
        app = make_app(url)
        client = app.test_client()
        headers = sign_up(client, f"push-{uuid.uuid4().hex[:6]}@example.org")
        figures = bench_push(app, client, headers, total=2_000 if quick else 10_000, batch=500)
        figures.update(bench_pulls(client, runs=5 if quick else 21))
        results[name] = figures
        with app.app_context():
            db.engine.dispose()
        if name == "postgresql":
            drop_postgres(url)
    return results


def report(results: dict) -> None:
    print(f"\n{'figure':<24}{'target':>12}" + "".join(f"{name:>14}" for name in results))
    rows = [("push_episodes_per_s", ">= 10,000/s", "{:,.0f}"), ("core_rows_per_s", "(floor)", "{:,.0f}"),
            ("push_vs_core", ">= 0.15", "{:.2f}"), ("first_pull_p50_ms", "", "{:.1f}"),
            ("first_pull_p95_ms", "< 200 ms", "{:.1f}"), ("empty_pull_p50_ms", "", "{:.2f}"),
            ("empty_pull_p95_ms", "< 10 ms", "{:.2f}")]
    for key, target, fmt in rows:
        print(f"{key:<24}{target:>12}" + "".join(f"{fmt.format(r[key]):>14}" for r in results.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of under a minute")
    args = parser.parse_args()
    results = run(args.quick)
    report(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("sync-quick.json" if args.quick else "sync.json")).write_text(json.dumps(
        {"measured_at": datetime.now(UTC).isoformat(), "quick": args.quick, "targets": TARGETS,
         "results": results}, indent=2))


if __name__ == "__main__":
    main()
