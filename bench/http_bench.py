"""HTTP benchmark (issue 7): POST episode under gunicorn beside a bare endpoint, same server, same run.

    python bench/http_bench.py [--quick] [--connections 8] [--seconds 10]

For each database (a fresh SQLite file, and a scratch PostgreSQL database when 127.0.0.1:5432
answers) the bench migrates it, starts gunicorn with one sync worker per core on a free port,
serving `bench_app()`: the real app plus two bench-only routes. A closed-loop client in this process
(one thread per connection, http.client) then drives, in alternating rounds of fixed duration
(empty, episode, floor, empty, episode, floor, ...):

- `GET /bench/empty`: what Flask, gunicorn and the socket cost with no work at all;
- `POST /api/v1/children/{id}/episodes`: a new, valid episode under a new client-chosen id per
  request, bearer token, one caregiver and child per connection (the real REST endpoint);
- `POST /bench/floor/{id}`: the same episode written by the least a correct write must do, in
  prepared SQLAlchemy Core statements without validation (`floor_episode`): the floor of a REST
  write on this stack, as the Core bulk insert is for the push.

Figures are medians over rounds: requests/s, p50 and p99 latency, the ratio episode/empty
(target: >= 0.40), and the floor's: floor/empty and episode/floor. On Linux each round also reads
from /proc where the machine's CPU went (bench/cpu.py): milliseconds per request in gunicorn (with
SQLite inside it), in PostgreSQL and in the client, and the share left idle; what bounds the ratio
can be read off these. Every response must be 2xx, and afterwards the database must hold exactly
the episodes the client got a 2xx for. The client shares the machine's cores with the server, the
same way in every round. Gunicorn's sync workers close the connection after each response, so
every request opens a TCP connection, as behind a proxy. Prints one table; writes
bench/results/http.json (http-quick.json with --quick).

`bench_app()` is also the WSGI app of bench/load_test.py:
    MYODIARY_BENCH_DATABASE_URL=sqlite:///... gunicorn 'bench.http_bench:bench_app()'
"""
import argparse
import http.client
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import flask
from sqlalchemy import bindparam, create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend import create_app  # noqa: E402
from backend.accounts.models import Token  # noqa: E402
from backend.accounts.tokens import digest  # noqa: E402
from backend.care_teams.models import Membership  # noqa: E402
from backend.children.models import Child  # noqa: E402
from backend.diary.models import Episode  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.trends.freshness import mark_stale  # noqa: E402
from backend.versioning import claim_version_on  # noqa: E402
from bench import cpu  # noqa: E402
from bench.sync_bench import RESULTS, BenchConfig, databases, drop_postgres, make_app, progress  # noqa: E402

DATABASE_ENV = "MYODIARY_BENCH_DATABASE_URL"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
TARGET_RATIO = 0.40
PASSWORD = "bench-password"


# ---- the server ------------------------------------------------------------------------------

def bench_app():
    """The real app bound to $MYODIARY_BENCH_DATABASE_URL, plus two bench-only routes: GET /bench/empty
    and POST /bench/floor/<child_id> (this app only)."""
    url = os.environ[DATABASE_ENV]
    app = create_app(type("Bound", (BenchConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    app.add_url_rule("/bench/empty", "bench_empty", lambda: {})
    app.add_url_rule("/bench/floor/<child_id>", "bench_floor", floor_episode, methods=["POST"])
    return app


# The floor of a REST write: what any correct POST episode must do, in prepared SQLAlchemy Core
# statements on one connection, with no validation, no ORM and no schema: find the token's user, check
# the membership, mark the summary stale, take the next sync version, insert, commit. What the real
# endpoint cannot go below on this stack, as the Core bulk insert is for the push. The stale mark and the
# next version are the app's own statements.
TOKEN_USER = select(Token.user_id).where(Token.token_hash == bindparam("digest"), Token.revoked_at.is_(None),
                                         Token.expires_at > bindparam("now"))
MEMBER = select(Membership.role).join(Child, Child.id == Membership.child_id).where(
    Membership.user_id == bindparam("user"), Membership.child_id == bindparam("child"),
    Membership.revoked_at.is_(None), Child.deleted_at.is_(None))
INSERT_EPISODE = insert(Episode.__table__)


def floor_episode(child_id: str):
    body, now = flask.request.get_json(), datetime.now(UTC)
    secret = flask.request.headers["Authorization"].removeprefix("Bearer ")
    with db.engine.begin() as conn:
        user = conn.scalar(TOKEN_USER, {"digest": digest(secret), "now": now})
        if user is None or conn.scalar(MEMBER, {"user": user, "child": child_id}) not in ("owner", "caregiver"):
            flask.abort(404)
        mark_stale(conn, [child_id])
        version = claim_version_on(conn)
        conn.execute(INSERT_EPISODE, {
            **body, "started_at": datetime.fromisoformat(body["started_at"]), "child_id": child_id, "logged_by": user,
            "body_parts": json.dumps(body["body_parts"]), "signs": json.dumps(body["signs"]),
            "triggers": json.dumps(body["triggers"]), "created_at": now, "updated_at": now, "version": version,
            "created_version": version})
    return {"id": body["id"], "version": version}, 201


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(url: str) -> None:
    """Apply the migrations once, before the workers start."""
    app = make_app(url)
    with app.app_context():
        db.engine.dispose()


@dataclass(frozen=True)
class Server:
    port: int
    pid: int  # gunicorn's master; its workers are its children


@contextmanager
def gunicorn(url: str, workers: int | None = None) -> Iterator[Server]:
    """gunicorn serving bench_app() on a free port of 127.0.0.1; yields it, stops it after."""
    port, workers = free_port(), workers or os.cpu_count() or 1
    log_path = Path(tempfile.mkdtemp()) / "gunicorn.log"
    command = [str(GUNICORN), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--log-level", "warning", "bench.http_bench:bench_app()"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, DATABASE_ENV: url},
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(port, process, log_path)
        progress(f"gunicorn up on 127.0.0.1:{port} with {workers} workers")
        yield Server(port, process.pid)
    finally:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: the load is over, nothing is in flight
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        server_errors = [line for line in log_path.read_text(errors="replace").splitlines() if "Traceback" in line]
        if server_errors:
            print(f"gunicorn logged {len(server_errors)} tracebacks: see {log_path}", file=sys.stderr)


def wait_until_up(port: int, process: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()}")
        probe = Connection(port, timeout=5)
        try:
            if probe.request("GET", "/bench/empty")[0] == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            probe.http.close()
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{log_path.read_text()}")


# ---- the client ------------------------------------------------------------------------------

class Connection:
    """One client connection (http.client reopens it when the server closes after a response)."""

    def __init__(self, port: int, timeout: float = 60):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        try:
            self.http.request(method, path, body=body, headers=headers or {})
            response = self.http.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.http.close()
            raise

    def json(self, method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, raw = self.request(method, path, None if body is None else json.dumps(body).encode(), headers)
        return status, json.loads(raw) if raw else {}


def expect(result: tuple[int, dict], status: int) -> dict:
    if result[0] != status:
        raise RuntimeError(f"expected {status}, got {result[0]}: {result[1]}")
    return result[1]


def sign_up(conn: Connection, email: str) -> str:
    """A caregiver's bearer token."""
    expect(conn.json("POST", "/api/v1/users", {"email": email, "password": PASSWORD, "name": "Bench",
                                               "role": "caregiver"}), 201)
    return expect(conn.json("POST", "/api/v1/tokens", {"email": email, "password": PASSWORD}), 201)["token"]


def add_child(conn: Connection, token: str) -> str:
    birth = date.today() - timedelta(days=90)
    return expect(conn.json("POST", "/api/v1/children", {
        "name": "Bench", "birth_date": birth.isoformat(), "timezone": "Europe/Berlin", "condition": "bnsm"},
        token), 201)["id"]


# ---- closed-loop load ------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    created: str | None = None  # the id this request creates, if any


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    created: list[str] = field(default_factory=list)


def empty_requests() -> Callable[[], Request]:
    return lambda: Request("GET", "/bench/empty")


def episode_requests(token: str, child_id: str, route: str = "api") -> Callable[[], Request]:
    """A new valid episode per call, under a new client-chosen id: to the REST endpoint, or the floor's."""
    path = f"/api/v1/children/{child_id}/episodes" if route == "api" else f"/bench/floor/{child_id}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def make() -> Request:
        episode_id = f"h{uuid.uuid4().hex[:20]}"
        started = datetime.now(UTC) - timedelta(hours=2, seconds=random.randrange(86_400))
        body = {"id": episode_id, "started_at": started.isoformat(timespec="seconds"), "duration_seconds": 45,
                "timezone": "Europe/Berlin", "sleep_state": "asleep", "stopped_when_woken": "yes", "side": "both",
                "body_parts": ["arms", "legs"], "signs": [], "triggers": ["fatigue"], "jerk_count": 12,
                "notes": "Quiet night otherwise"}
        return Request("POST", path, json.dumps(body).encode(), headers, episode_id)
    return make


def connection_loop(port: int, deadline: float, make: Callable[[], Request], tally: Tally) -> None:
    conn = Connection(port)
    while time.perf_counter() < deadline:
        request = make()
        started = time.perf_counter()
        try:
            status, _ = conn.request(request.method, request.path, request.body, request.headers)
        except (OSError, http.client.HTTPException):
            tally.errors += 1
            time.sleep(0.05)
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[status] += 1
        if 200 <= status < 300 and request.created:
            tally.created.append(request.created)


def drive(server: Server, makers: list[Callable[[], Request]], seconds: float) -> tuple[dict, list[str]]:
    """One closed-loop round, one thread per connection; (figures, ids created with a 2xx). The figures
    include the CPU milliseconds per request of server, database and client, and the idle share."""
    tallies = [Tally() for _ in makers]
    cpu_before = cpu.snapshot(server.pid)
    started = time.perf_counter()
    threads = [threading.Thread(target=connection_loop, args=(server.port, started + seconds, make, tally))
               for make, tally in zip(makers, tallies, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu_used = cpu.since(cpu_before, server.pid)
    latencies = sorted(x for tally in tallies for x in tally.latencies)
    statuses = sum((tally.statuses for tally in tallies), Counter())
    figures = {"requests": len(latencies), "rps": len(latencies) / elapsed,
               "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
               "non_2xx": sum(n for status, n in statuses.items() if not 200 <= status < 300),
               "connection_errors": sum(tally.errors for tally in tallies),
               "statuses": {str(status): n for status, n in sorted(statuses.items())}}
    if cpu_used and latencies:
        figures |= {f"{group}_cpu_ms": cpu_used[group] / len(latencies) * 1000 for group in cpu.GROUPS}
        figures["idle_share"] = cpu_used["idle_share"]
    return figures, [episode_id for tally in tallies for episode_id in tally.created]


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples (0 when there are none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# ---- one database ----------------------------------------------------------------------------

def stored_episodes(url: str) -> tuple[int, set[str]]:
    """(rows, distinct ids) of episodes, read from the database itself."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ids = [row[0] for row in conn.execute(text("SELECT id FROM episodes"))]
    finally:
        engine.dispose()
    return len(ids), set(ids)


ENDPOINTS = ("empty", "episode", "floor")
CPU_KEYS = (*(f"{group}_cpu_ms" for group in cpu.GROUPS), "idle_share")


def endpoint_makers(server: Server, connections: int) -> dict[str, list[Callable[[], Request]]]:
    """Per endpoint, one request maker per connection; each connection is its own caregiver and child."""
    setup = Connection(server.port)
    tokens = [sign_up(setup, f"http-{uuid.uuid4().hex[:8]}@example.org") for _ in range(connections)]
    children = [add_child(setup, token) for token in tokens]
    return {"empty": [empty_requests() for _ in range(connections)],
            "episode": [episode_requests(token, child) for token, child in zip(tokens, children, strict=True)],
            "floor": [episode_requests(token, child, "floor") for token, child in zip(tokens, children, strict=True)]}


def bench_database(url: str, connections: int, seconds: float, rounds: int) -> dict:
    prepare_database(url)
    with gunicorn(url) as server:
        makers = endpoint_makers(server, connections)
        warm_ups, created = [], []
        for name in ENDPOINTS:  # every worker has served every route
            figures, ids = drive(server, makers[name], 0.5)
            warm_ups.append(figures)
            created += ids
        measured: dict[str, list[dict]] = {name: [] for name in ENDPOINTS}
        for number in range(1, rounds + 1):
            for name in ENDPOINTS:
                figures, ids = drive(server, makers[name], seconds)
                measured[name].append(figures)
                created += ids
            progress(f"round {number}/{rounds}: " + ", ".join(
                f"{name} {measured[name][-1]['rps']:,.0f}/s" for name in ENDPOINTS))
    figures = summarize(measured, warm_ups, created, stored_episodes(url))
    if url.startswith("sqlite"):  # SQLite runs inside gunicorn's workers: its CPU is the server's
        for name in ENDPOINTS:
            figures.pop(f"{name}_database_cpu_ms", None)
    return figures


def summarize(measured: dict[str, list[dict]], warm_ups: list[dict], created: list[str],
              stored: tuple[int, set[str]]) -> dict:
    """Medians over the rounds; errors counted over every request, warm-up included."""
    figures = {f"{name}_{key}": statistics.median(r[key] for r in rounds) for name, rounds in measured.items()
               for key in ("rps", "p50_ms", "p99_ms", *CPU_KEYS) if all(key in r for r in rounds)}
    figures["ratio"] = figures["episode_rps"] / figures["empty_rps"]
    figures["floor_ratio"] = figures["floor_rps"] / figures["empty_rps"]
    figures["episode_vs_floor"] = figures["episode_rps"] / figures["floor_rps"]
    every = [r for rounds in measured.values() for r in rounds] + warm_ups
    figures["non_2xx"] = sum(r["non_2xx"] for r in every)
    figures["connection_errors"] = sum(r["connection_errors"] for r in every)
    rows, ids = stored
    figures["episodes_acknowledged"] = len(created)
    figures["episodes_stored"] = rows
    figures["stored_matches"] = rows == len(ids) == len(created) and ids == set(created)
    figures["rounds"] = measured
    return figures


# ---- the run ---------------------------------------------------------------------------------

def run(connections: int, seconds: float, rounds: int) -> dict:
    results = {}
    for name, url in databases():
        print(f"benchmarking {name} under gunicorn ...", file=sys.stderr)
        try:
            results[name] = bench_database(url, connections, seconds, rounds)
        finally:
            if name == "postgresql":
                drop_postgres(url)
    return results


def report(results: dict, workers: int, connections: int) -> None:
    print(f"\ngunicorn, {workers} sync workers; {connections} client connections")
    print(f"{'figure':<28}{'target':>12}" + "".join(f"{name:>14}" for name in results))
    rows = [("empty_rps", "", "{:,.0f}"), ("empty_p50_ms", "", "{:.1f}"), ("empty_p99_ms", "", "{:.1f}"),
            ("episode_rps", "", "{:,.0f}"), ("episode_p50_ms", "", "{:.1f}"), ("episode_p99_ms", "", "{:.1f}"),
            ("floor_rps", "", "{:,.0f}"), ("floor_p99_ms", "", "{:.1f}"),
            ("ratio", "", "{:.2f}"), ("floor_ratio", "", "{:.2f}"), ("episode_vs_floor", ">= 0.60", "{:.2f}"),
            ("non_2xx", "0", "{:d}"), ("connection_errors", "0", "{:d}"),
            ("episodes_acknowledged", "", "{:,d}"), ("episodes_stored", "= acked", "{:,d}")]
    for key, target, fmt in rows:
        print(f"{key:<28}{target:>12}" + "".join(f"{fmt.format(r[key]):>14}" for r in results.values()))
    report_cpu(results)


def report_cpu(results: dict) -> None:
    """Where each endpoint's CPU went: milliseconds per request by process group, and the idle share."""
    if not all("empty_server_cpu_ms" in r for r in results.values()):
        return
    print("\nCPU per request, ms: server (gunicorn; SQLite runs inside it) / database (PostgreSQL) / client;"
          " machine idle")
    for database, r in results.items():
        for name in ENDPOINTS:
            spent = " / ".join(f"{r[key]:.2f}" if (key := f"{name}_{group}_cpu_ms") in r else "-"
                               for group in cpu.GROUPS)
            print(f"  {database:<12}{name:<9}{spent:>22}   idle {r[f'{name}_idle_share']:.0%}")


def checks_pass(results: dict) -> bool:
    return all(r["non_2xx"] == 0 and r["connection_errors"] == 0 and r["stored_matches"] for r in results.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: one 1 s round per endpoint")
    parser.add_argument("--connections", type=int, default=8, help="concurrent client connections")
    parser.add_argument("--seconds", type=float, default=None, help="duration of each round (10, quick 1)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per endpoint (3, quick 1)")
    args = parser.parse_args()
    seconds = args.seconds or (1.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 3)
    results = run(args.connections, seconds, rounds)
    workers = os.cpu_count() or 1
    report(results, workers, args.connections)
    print("load average after the run (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("http-quick.json" if args.quick else "http.json")).write_text(json.dumps(
        {"measured_at": datetime.now(UTC).isoformat(), "quick": args.quick, "workers": workers,
         "load_average_after": os.getloadavg(),
         "connections": args.connections, "seconds_per_round": seconds, "rounds": rounds,
         "targets": {"ratio": TARGET_RATIO, "non_2xx": 0}, "results": results}, indent=2))
    if not checks_pass(results):
        print("FAILED: non-2xx responses, connection errors, or stored episodes differ from the acknowledged ones",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
