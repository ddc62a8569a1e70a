"""Write concurrency (issue 23 item 2): 16 families pushing small syncs at once to PostgreSQL, against the same
inserts and commits with no versioning at all, measured in the same run.

    python bench/write_concurrency.py [--quick] [--label new|old] [--out PATH] [--seconds 8] [--writers 16]
    python bench/write_concurrency.py --old-and-new [--quick]   # the old code (449fac4) in a worktree, then this

A scratch PostgreSQL database is migrated and given 16 families through the API (a caregiver account, its bearer
token and a child each; every writer its own device id and the timestamp of an initial pull). Then, in rounds (3;
1 with --quick), each variant drives the 16 writers in a closed loop (each sends its next write as soon as the last
is answered) for a warm-up (2 s; 1) and a measured window (8 s; 3):

- floor: 16 threads, each on its own PostgreSQL connection (SQLAlchemy Core on psycopg), inserting the push's two
  episode rows (the same columns, one multi-row INSERT, as the push writes them) and committing. No version is
  claimed: what the inserts and commits alone cost on this database, the ceiling of any push;
- floor_versioned: the same, with the version claimed first as the app claims it (backend.versioning's
  claim_version: the old code's sync_counter row, held to the commit; the new code's transaction id): what the
  claim itself costs 16 writers, with no app work in the transaction to stretch a lock;
- inproc: the real app in this process, 16 threads, each with its own Flask test client, each pushing
  POST /api/v1/sync with 2 new episodes (new ids every time). Python's GIL runs one thread at a time;
- procs: the same pushes from --processes processes (16 writers spread over them, threads within), each with its
  own app: what in-process pushing reaches without one GIL for all;
- unversioned: `inproc` with the push's version claim replaced by a constant (backend.sync.push.claim_version):
  the same app and the same pushes with no versioning, so inproc / unversioned is what versioning costs the push;
- gunicorn: the production settings (`gunicorn -c python:backend.gunicorn_config`, --workers sync workers, the
  access log off), 16 client threads (http.client) doing the same pushes over TCP. Sync workers because they
  are what `make run`, the Dockerfile and docker-compose deploy: one request, one transaction, one database
  connection per worker at a time. 16 writers on 4 workers (two per core here) means 4 transactions in flight and
  12 requests queued in the listen backlog; gunicorn's ratio uses the same floor (16 connections), as the floor is
  the database's, not the server's.

Figures, medians over rounds: write transactions/s (pushes answered 200 within the window; the floor's commits),
p50 and p95 latency, the ratio to the floor, and where the time goes. Waits: PostgreSQL's pg_stat_activity sampled
every 20 ms during each window, the mean number of the bench database's backends in a transaction and waiting on a
lock (wait_event_type Lock: the old sync_counter row), so by Little's law the share of a writer's time spent
waiting on a lock (lock-waiting backends / writers). CPU, from Linux's /proc: milliseconds per write of the app's
processes (this one in-process, the spawned ones, gunicorn's workers), of the database's backends and of the
client (this process, when the app is elsewhere), and the share of the machine left idle. Afterwards the
database must hold exactly the episodes acknowledged. Client, app and PostgreSQL share the machine's cores.

Writes bench/results/write_concurrency.json (-quick.json with --quick; _old.json for --label old). With
--label new, the *_vs_old figures divide this run's write transactions/s by those of write_concurrency_old.json.
The targets (issue 23: >= 0.80 of the floor, >= 5 x the old code) apply to `procs`, 16 writers in processes as
gunicorn's workers are, not to `inproc`: 16 threads in one interpreter take turns on its GIL (the machine was left
a third idle in some of their windows), which measures Python, not the database. vs_old is procs_vs_old.
"""
import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
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
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend import create_app, versioning  # noqa: E402
from backend.diary.models import Episode  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.versioning import claim_version  # noqa: E402
from bench.sync_bench import POSTGRES_URL, RESULTS, BenchConfig, drop_postgres, progress  # noqa: E402

OLD_COMMIT = "449fac4"  # before the sync clock on transaction ids
OLD_TREE = Path("/tmp/old_writers")
GUNICORN = Path(sys.executable).parent / "gunicorn"
TARGETS = {"inproc_vs_floor": 0.80, "vs_old": 5.0}
PASSWORD = "bench-password"
EPISODES_PER_PUSH = 2
SAMPLE_EVERY = 0.02
VARIANTS = ("floor", "floor_versioned", "inproc", "procs", "unversioned", "gunicorn")


# ---- the families ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Writer:
    """One family's phone: its caregiver's token, child, device and last pull."""

    token: str
    user_id: str
    child_id: str
    device_id: str
    last_pulled_at: int

    def sync_path(self) -> str:
        return f"/api/v1/sync?last_pulled_at={self.last_pulled_at}&device_id={self.device_id}"

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def new_family(client, number: int) -> Writer:
    """A caregiver, a child of three months and the timestamp of the phone's first pull, through the API."""
    email = f"writer{number}-{uuid.uuid4().hex[:6]}@example.org"
    client.post("/api/v1/users", json={"email": email, "password": PASSWORD, "name": "Writer", "role": "caregiver"})
    token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    user_id = client.get("/api/v1/me", headers=headers).json["id"]
    child_id = client.post("/api/v1/children", headers=headers, json={
        "name": f"Child {number}", "birth_date": (date.today() - timedelta(days=90)).isoformat(),
        "timezone": "Europe/Berlin", "condition": "bnsm"}).json["id"]
    device_id = f"phone{number}"
    pulled = client.get(f"/api/v1/sync?last_pulled_at=null&device_id={device_id}", headers=headers)
    assert pulled.status_code == 200, pulled.json
    return Writer(token, user_id, child_id, device_id, pulled.json["timestamp"])


def new_families(url: str, count: int) -> list[Writer]:
    """The database migrated, then `count` families signed up from one address (its limit raised for that)."""
    from flask_migrate import upgrade

    app = create_app(type("Setup", (bench_config(url, 2),), {"REGISTRATIONS_PER_ADDRESS": "10000 per hour"}))
    with app.app_context():
        upgrade()
    client = app.test_client()
    writers = [new_family(client, number) for number in range(count)]
    with app.app_context():
        db.engine.dispose()
    return writers


# ---- what each write carries -----------------------------------------------------------------

def episode_values(prefix: str) -> dict:
    """A new episode in the last 60 days, under a new id."""
    started = datetime.now(UTC) - timedelta(days=1, seconds=random.randrange(60 * 86_400))
    return {"id": f"{prefix}{uuid.uuid4().hex[:20]}", "started_at": started, "duration_seconds": 45,
            "timezone": "Europe/Berlin", "sleep_state": "asleep", "stopped_when_woken": "yes", "side": "both",
            "body_parts": '["arms","legs"]', "signs": "[]", "triggers": '["fatigue"]', "jerk_count": 12,
            "notes": "Quiet night otherwise", "video_ref": None}


def push_body(writer: Writer) -> bytes:
    """Two new episodes as WatermelonDB sends them."""
    created = []
    for _ in range(EPISODES_PER_PUSH):
        values = episode_values("w")
        created.append({**values, "child_id": writer.child_id, "logged_by": "", "created_at": 0, "updated_at": 0,
                        "started_at": int(values["started_at"].timestamp() * 1000), "_status": "created",
                        "_changed": ""})
    body = {table: {"created": [], "updated": [], "deleted": []} for table in ("children", "sleep_sessions")}
    body["episodes"] = {"created": created, "updated": [], "deleted": []}
    return json.dumps(body).encode()


def floor_rows(writer: Writer, version: int = 0) -> list[dict]:
    """The rows the push inserts for two episodes, every column it sets; the version a constant unless given."""
    now = datetime.now(UTC)
    return [{**episode_values("f"), "child_id": writer.child_id, "logged_by": writer.user_id, "created_at": now,
             "updated_at": now, "version": version, "created_version": version,
             "created_by_device": writer.device_id,
             "updated_by_device": writer.device_id} for _ in range(EPISODES_PER_PUSH)]


# ---- closed loops ----------------------------------------------------------------------------

@dataclass
class Tally:
    """One writer's writes completed within the measured window (and every acknowledged episode)."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    acknowledged: int = 0  # episodes answered 200 (or committed), warm-up included


@dataclass(frozen=True)
class Window:
    """The measured window in wall-clock time (time.time(), comparable across processes)."""

    measure_from: float
    until: float

    @property
    def seconds(self) -> float:
        return self.until - self.measure_from


def closed_loop(write: Callable[[], int], window: Window, tally: Tally) -> None:
    """Write, write again as soon as answered, until the window ends; counts the writes that ended inside it."""
    while (started := time.time()) < window.until:
        try:
            status = write()
        except (OSError, http.client.HTTPException):
            tally.errors += 1
            time.sleep(0.05)
            continue
        ended = time.time()
        if status == 200:
            tally.acknowledged += EPISODES_PER_PUSH
        if started >= window.measure_from and ended <= window.until:
            tally.latencies.append(ended - started)
            tally.statuses[status] += 1


def run_threads(writes: list[Callable[[], int]], window: Window) -> list[Tally]:
    tallies = [Tally() for _ in writes]
    threads = [threading.Thread(target=closed_loop, args=(write, window, tally))
               for write, tally in zip(writes, tallies, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tallies


def figures(tallies: list[Tally], window: Window) -> dict:
    latencies = sorted(x for tally in tallies for x in tally.latencies)
    statuses = sum((tally.statuses for tally in tallies), Counter())
    ok = statuses.get(200, 0)
    return {"tx_per_s": ok / window.seconds, "p50_ms": percentile(latencies, 0.50) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000, "writes": ok,
            "not_200": sum(n for status, n in statuses.items() if status != 200),
            "statuses": {str(status): n for status, n in sorted(statuses.items())},
            "connection_errors": sum(tally.errors for tally in tallies),
            "acknowledged": sum(tally.acknowledged for tally in tallies)}


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples (0 when there are none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))]


def window_from_now(warm_up: float, seconds: float) -> Window:
    measure_from = time.time() + warm_up
    return Window(measure_from, measure_from + seconds)


# ---- the variants ----------------------------------------------------------------------------

Drive = Callable[[Window], list[Tally]]


@dataclass(frozen=True)
class Variant:
    """A variant ready to run: how to drive its writers through a window, and the processes doing the app's work
    (whose CPU is counted)."""

    drive: Drive
    app_pids: Callable[[], list[int]] = lambda: [os.getpid()]


@contextmanager
def floor_variant(url: str, writers: list[Writer], versioned: bool = False) -> Iterator[Variant]:
    """Each writer on its own connection: two episode rows in one INSERT, commit. No version claimed; or, with
    `versioned`, the version claimed as the app can: the new clock's INSERT stamps its rows itself
    (backend.versioning.own_version_expression, no statement of its own); the old counter is claimed first
    (backend.versioning.claim_version, its row locked to the commit)."""
    engine = create_engine(url, pool_size=len(writers), max_overflow=0)
    statement = insert(Episode.__table__)
    own_version = getattr(versioning, "own_version_expression", lambda dialect: None)("postgresql")  # old: none
    stamped = None if own_version is None else statement.values(version=own_version, created_version=own_version)

    def writes_of(writer: Writer, connection) -> Callable[[], int]:
        def write() -> int:
            connection.execute(statement, floor_rows(writer))
            connection.commit()
            return 200

        def versioned_write() -> int:
            with Session(bind=connection) as session:  # claim_version takes a session; the rest is as above
                version = claim_version(session)
                session.connection().execute(statement, floor_rows(writer, version))
                session.commit()
            return 200

        def stamped_write() -> int:  # the new clock: the INSERT stamps its rows itself
            connection.execute(stamped, [{name: value for name, value in row.items() if "version" not in name}
                                         for row in floor_rows(writer)])
            connection.commit()
            return 200
        if not versioned:
            return write
        return versioned_write if stamped is None else stamped_write

    connections = [engine.connect() for _ in writers]
    try:
        yield Variant(lambda window: run_threads(
            [writes_of(w, c) for w, c in zip(writers, connections, strict=True)], window))
    finally:
        for connection in connections:
            connection.close()
        engine.dispose()


def bench_config(url: str, pool: int):
    """The bench's app config on `url`, with a pool of `pool` connections (one per writing thread)."""
    options = {**BenchConfig.SQLALCHEMY_ENGINE_OPTIONS, "pool_size": pool, "max_overflow": 0}
    return type("Bound", (BenchConfig,), {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": options})


def app_pushes(app, writers: list[Writer], window: Window) -> list[Tally]:
    """Each writer a thread with its own test client, pushing two new episodes at a time."""
    def writes_of(writer: Writer) -> Callable[[], int]:
        client, path, headers = app.test_client(), writer.sync_path(), writer.headers()
        return lambda: client.post(path, data=push_body(writer), headers=headers).status_code

    return run_threads([writes_of(writer) for writer in writers], window)


@contextmanager
def inproc_variant(url: str, writers: list[Writer], versioned: bool = True) -> Iterator[Variant]:
    app = create_app(bench_config(url, len(writers)))
    try:
        with no_version_claim(enabled=not versioned):
            yield Variant(lambda window: app_pushes(app, writers, window))
    finally:
        with app.app_context():
            db.engine.dispose()


@contextmanager
def no_version_claim(enabled: bool) -> Iterator[None]:
    """The push's version claim replaced by a constant: the same push with no versioning."""
    from backend.sync import push

    claim = push.claim_version  # an AttributeError here: the push claims its version otherwise now
    if enabled:
        push.claim_version = lambda *args, **kwargs: 1
    try:
        yield
    finally:
        push.claim_version = claim


@contextmanager
def procs_variant(url: str, writers: list[Writer], processes: int) -> Iterator[Variant]:
    """The writers spread over `processes` processes (spawned: each builds its own app), threads within; the
    window is given to them once all are ready."""
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Queue(), context.Queue(), context.Queue()
    shares = [writers[number::processes] for number in range(processes)]
    children = [context.Process(target=process_pushes, args=(url, [asdict(w) for w in share], ready, go, results))
                for share in shares]
    for child in children:
        child.start()

    def drive(window: Window) -> list[Tally]:
        for _ in children:
            go.put(window)
        return [tally for _ in children for tally in results.get(timeout=window.until - time.time() + 120)]

    try:
        for _ in children:
            ready.get(timeout=120)
        yield Variant(drive, lambda: [child.pid for child in children])
    finally:
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                child.terminate()


def process_pushes(url: str, writers: list[dict], ready, go, results) -> None:
    """One process of procs_variant: its own app, its writers' threads, their tallies back."""
    app = create_app(bench_config(url, len(writers)))
    ready.put(os.getpid())
    window = go.get()
    try:
        results.put(app_pushes(app, [Writer(**w) for w in writers], window))
    finally:
        with app.app_context():
            db.engine.dispose()


class Client:
    """One writer's HTTP client (http.client reopens the connection when a sync worker closes it)."""

    def __init__(self, port: int, writer: Writer):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.writer, self.path, self.headers = writer, writer.sync_path(), writer.headers()

    def push(self) -> int:
        try:
            self.http.request("POST", self.path, body=push_body(self.writer), headers=self.headers)
            response = self.http.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            self.http.close()
            raise


@contextmanager
def gunicorn_variant(server: tuple[int, int], writers: list[Writer]) -> Iterator[Variant]:
    port, master = server
    yield Variant(lambda window: run_threads([Client(port, writer).push for writer in writers], window),
                  lambda: children_of(master))


def children_of(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


@contextmanager
def gunicorn(url: str, workers: int) -> Iterator[tuple[int, int]]:
    """gunicorn under the production settings on a free port, serving `url`; yields the port and its pid."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "MYODIARY_INSTANCE_DIR": tempfile.mkdtemp(), "SECRET_KEY": "bench",
           "LOG_LEVEL": "WARNING", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST_KIB": "64"}
    log = Path(tempfile.mkdtemp()) / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(GUNICORN), "-c", "python:backend.gunicorn_config", "--workers", str(workers),
                                   "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
                                   "--access-logfile", "/dev/null", "backend:create_app()"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(port, server, log)
        progress(f"gunicorn up on 127.0.0.1:{port} with {workers} sync workers")
        yield port, server.pid
    finally:
        server.terminate()  # graceful: a worker finishes the request in hand
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if "Traceback" in log.read_text(errors="replace"):
            print(f"gunicorn logged tracebacks: see {log}", file=sys.stderr)


def wait_until_up(port: int, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log.read_text()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status in (200, 204):
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{log.read_text()}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- where the transactions wait, where the CPU goes ----------------------------------------

SAMPLE = """SELECT state, wait_event_type, wait_event FROM pg_stat_activity
            WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'
              AND state IN ('active', 'idle in transaction')"""
BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
TICK = os.sysconf("SC_CLK_TCK")


class WaitSampler:
    """pg_stat_activity every 20 ms within the window: the bench database's backends in a transaction, and what
    they wait on (Lock: a row or transaction lock; Client: the app's own work inside the transaction; none: CPU).
    Also the CPU seconds the window took from the app's processes, from this database's backends and, when the
    app is elsewhere, from this process (the client), and the share of the machine left idle (Linux's /proc)."""

    def __init__(self, database: str, window: Window, app_pids: list[int]):
        self.database, self.window, self.app_pids = database, window, app_pids
        self.client_pids = [] if os.getpid() in app_pids else [os.getpid()]
        self.samples, self.counts, self.cpu = 0, Counter(), {}
        self.thread = threading.Thread(target=self.sample)

    def sample(self) -> None:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            while time.time() < self.window.measure_from:
                time.sleep(0.005)
            backends = [row[0] for row in conn.execute(BACKENDS, (self.database,))]
            before = self.cpu_now(backends)
            while time.time() < self.window.until:
                rows = conn.execute(SAMPLE, (self.database,)).fetchall()
                self.samples += 1
                for state, kind, event in rows:
                    self.counts["busy"] += 1
                    self.counts[f"{kind}:{event}" if kind else ("cpu" if state == "active" else state)] += 1
                time.sleep(SAMPLE_EVERY)
            after = self.cpu_now(backends)
            self.cpu = {key: spent(before[key], after[key]) if isinstance(before[key], dict) else
                        after[key] - before[key] for key in before}

    def cpu_now(self, backends: list[int]) -> dict:
        idle, total = machine_seconds()
        return {"app": cpu_seconds(self.app_pids), "database": cpu_seconds(backends),
                "client": cpu_seconds(self.client_pids), "idle": idle, "total": total}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join()

    def figures(self, writers: int, writes: int) -> dict:
        if not self.samples:
            return {}
        lock = sum(n for key, n in self.counts.items() if key.startswith("Lock:"))
        mean = {key: n / self.samples for key, n in self.counts.most_common()}
        found = {"in_transaction_mean": mean.get("busy", 0.0), "lock_waiting_mean": lock / self.samples,
                 "lock_share": lock / self.samples / writers, "wait_samples": self.samples,
                 "waits_mean": {key: round(value, 3) for key, value in mean.items() if key != "busy"}}
        if self.cpu and writes:
            found |= {f"{group}_cpu_ms": self.cpu[group] / writes * 1000 for group in ("app", "database", "client")}
            found["idle_share"] = self.cpu["idle"] / self.cpu["total"] if self.cpu["total"] else 0.0
        return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU seconds of each of these processes (every thread) that is still running."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return found


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings, of the processes in both."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def machine_seconds() -> tuple[float, float]:
    """(idle, total) CPU seconds of the machine since boot."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (values[3] + values[4]) / TICK, sum(values[:8]) / TICK


# ---- one run ---------------------------------------------------------------------------------

def create_database() -> str:
    name = f"myodiary_writers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


def variant_driver(variant: str, url: str, writers: list[Writer], processes: int, server: tuple[int, int]):
    if variant in ("floor", "floor_versioned"):
        return floor_variant(url, writers, versioned=variant == "floor_versioned")
    if variant in ("inproc", "unversioned"):
        return inproc_variant(url, writers, versioned=variant == "inproc")
    if variant == "procs":
        return procs_variant(url, writers, processes)
    return gunicorn_variant(server, writers)


def measure(variant: str, url: str, writers: list[Writer], timing: tuple[float, float], processes: int,
            server: tuple[int, int]) -> dict:
    """One window of one variant, its warm-up first, with the sampler beside it."""
    with variant_driver(variant, url, writers, processes, server) as ready:
        window = window_from_now(*timing)
        with WaitSampler(url.rsplit("/", 1)[1], window, ready.app_pids()) as sampler:
            tallies = ready.drive(window)
    found = figures(tallies, window)
    return found | {"lock": sampler.figures(len(writers), found["writes"])}


def run(writers_count: int, timing: tuple[float, float], rounds: int, processes: int, workers: int) -> dict:
    url = create_database()
    try:
        writers = new_families(url, writers_count)
        progress(f"{len(writers)} families in {url.rsplit('/', 1)[1]}")
        measured: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
        with gunicorn(url, workers) as server:
            for number in range(1, rounds + 1):
                for variant in VARIANTS:
                    measured[variant].append(measure(variant, url, writers, timing, processes, server))
                progress(f"round {number}/{rounds}: " + ", ".join(
                    f"{v} {measured[v][-1]['tx_per_s']:,.0f}/s p95 {measured[v][-1]['p95_ms']:.0f} ms"
                    for v in VARIANTS))
        return summarize(measured, stored_episodes(url))
    finally:
        drop_postgres(url)


def stored_episodes(url: str) -> dict:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT left(id, 1), count(*) FROM episodes GROUP BY 1")).all())
    finally:
        engine.dispose()


def summarize(measured: dict[str, list[dict]], stored: dict) -> dict:
    """Medians over rounds; the ratios; the checks (every push answered 200, every acknowledged episode stored)."""
    result = {}
    for variant, rounds in measured.items():
        for key in ("tx_per_s", "p50_ms", "p95_ms"):
            result[f"{variant}_{key}"] = statistics.median(r[key] for r in rounds)
        samples = [r["lock"] for r in rounds if r["lock"]]
        for key in ("lock_share", "in_transaction_mean", "app_cpu_ms", "database_cpu_ms", "client_cpu_ms",
                    "idle_share"):
            if samples and all(key in sample for sample in samples):
                result[f"{variant}_{key}"] = statistics.median(sample[key] for sample in samples)
    floor = result["floor_tx_per_s"]
    for variant in VARIANTS[1:]:
        result[f"{variant}_vs_floor"] = result[f"{variant}_tx_per_s"] / floor
    result["inproc_vs_unversioned"] = result["inproc_tx_per_s"] / result["unversioned_tx_per_s"]
    result["not_200"] = sum(r["not_200"] for rounds in measured.values() for r in rounds)
    result["connection_errors"] = sum(r["connection_errors"] for rounds in measured.values() for r in rounds)
    result["episodes_acknowledged"] = sum(r["acknowledged"] for v, rounds in measured.items()
                                         if not v.startswith("floor") for r in rounds)
    result["episodes_stored"] = stored.get("w", 0)
    result["stored_matches"] = result["episodes_stored"] == result["episodes_acknowledged"]
    result["rounds"] = measured
    return result


# ---- old and new -----------------------------------------------------------------------------

def result_path(label: str, quick: bool) -> Path:
    name = "write_concurrency" + ("_old" if label == "old" else "")
    return RESULTS / f"{name}{'-quick' if quick else ''}.json"


def compare_with_old(result: dict, quick: bool) -> None:
    """vs_old: this run's write transactions/s over the old code's, for each variant, when the old was measured."""
    path = result_path("old", quick)
    if not path.exists():
        print(f"no {path.name}: vs_old not computed (python bench/write_concurrency.py --old-and-new)",
              file=sys.stderr)
        return
    old = json.loads(path.read_text())["results"]["postgresql"]
    for variant in ("floor_versioned", "inproc", "procs", "gunicorn"):
        if f"{variant}_tx_per_s" in old:
            result[f"{variant}_vs_old"] = result[f"{variant}_tx_per_s"] / old[f"{variant}_tx_per_s"]
    result["vs_old"] = result.get("procs_vs_old")  # the targets' figure: writers in processes, as in production
    result["old_measured_at"] = json.loads(path.read_text())["measured_at"]


def run_old_and_new(argv: list[str], quick: bool) -> None:
    """The old code (OLD_COMMIT) in a git worktree with this bench file, then this tree; old first, so vs_old."""
    subprocess.run(["git", "worktree", "add", "-f", str(OLD_TREE), OLD_COMMIT], cwd=ROOT, check=True)
    try:
        shutil.copy(__file__, OLD_TREE / "bench" / "write_concurrency.py")
        pybabel = Path(sys.executable).parent / "pybabel"
        for language in ("es", "de"):
            messages = OLD_TREE / "backend" / "translations" / language / "LC_MESSAGES"
            subprocess.run([str(pybabel), "-q", "compile", "-i", str(messages / "messages.po"),
                            "-o", str(messages / "messages.mo")], check=True)
        subprocess.run([sys.executable, str(OLD_TREE / "bench" / "write_concurrency.py"), *argv, "--label", "old",
                        "--out", str(result_path("old", quick))], env={**os.environ, "PYTHONPATH": str(OLD_TREE)},
                       cwd=OLD_TREE, check=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(OLD_TREE)], cwd=ROOT, check=True)
    subprocess.run([sys.executable, __file__, *argv, "--label", "new"], cwd=ROOT, check=True)


def code_version() -> str:
    found = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip()


def report(result: dict, label: str) -> None:
    print(f"\n{label} code ({code_version()}): write transactions/s; p50 / p95 ms; share of a writer's time waiting "
          f"on a lock; CPU ms per write: app / database / client, machine idle; ratio to the floor")
    for variant in VARIANTS:
        lock = result.get(f"{variant}_lock_share")
        cpu = " / ".join(f"{result[key]:.2f}" if (key := f"{variant}_{group}_cpu_ms") in result else "-"
                         for group in ("app", "database", "client"))
        idle = result.get(f"{variant}_idle_share")
        print(f"  {variant:<16}{result[f'{variant}_tx_per_s']:>7,.0f}/s {result[f'{variant}_p50_ms']:>7.1f} /"
              f"{result[f'{variant}_p95_ms']:>6.1f} ms  {'' if lock is None else f'lock {lock:.0%}':<10}"
              f"cpu {cpu:<20}{'' if idle is None else f'idle {idle:.0%}':<10}"
              f"{result.get(f'{variant}_vs_floor', 1):.2f}")
    print(f"  in-process pushes / the same unversioned: {result['inproc_vs_unversioned']:.2f}")
    for key in ("floor_versioned_vs_old", "inproc_vs_old", "procs_vs_old", "gunicorn_vs_old"):
        if key in result:
            print(f"  {key}: {result[key]:.2f}")
    print(f"  not 200: {result['not_200']}, connection errors: {result['connection_errors']}, episodes stored "
          f"{result['episodes_stored']:,} of {result['episodes_acknowledged']:,} acknowledged")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: one round of 3 s windows")
    parser.add_argument("--seconds", type=float, default=None, help="measured window per variant (8, quick 3)")
    parser.add_argument("--warm-up", type=float, default=None, help="before each window (2, quick 1)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of every variant (3, quick 1)")
    parser.add_argument("--writers", type=int, default=16, help="concurrent writers, one family each")
    parser.add_argument("--processes", type=int, default=4, help="processes of the procs variant")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--label", choices=("old", "new"), default="new", help="which code this tree is")
    parser.add_argument("--out", type=Path, default=None, help="the JSON to write")
    parser.add_argument("--old-and-new", action="store_true", help=f"run the old code ({OLD_COMMIT}), then this")
    args, argv = parser.parse_args(), [a for a in sys.argv[1:] if a != "--old-and-new"]
    if args.old_and_new:
        return run_old_and_new(argv, args.quick)
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    timing = (args.warm_up or (1.0 if args.quick else 2.0), seconds)
    rounds = args.rounds or (1 if args.quick else 3)
    result = run(args.writers, timing, rounds, args.processes, args.workers)
    if args.label == "new":
        compare_with_old(result, args.quick)
    report(result, args.label)
    out = args.out or result_path(args.label, args.quick)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "measured_at": datetime.now(UTC).isoformat(), "label": args.label, "code": code_version(),
        "quick": args.quick, "writers": args.writers, "episodes_per_push": EPISODES_PER_PUSH,
        "seconds_per_window": seconds, "warm_up": timing[0], "rounds": rounds, "processes": args.processes,
        "gunicorn_workers": args.workers, "cpus": os.cpu_count(), "load_average_after": os.getloadavg(),
        "targets": TARGETS, "results": {"postgresql": result}}, indent=2))
    if result["not_200"] or result["connection_errors"] or not result["stored_matches"]:
        print("FAILED: pushes not answered 200, connection errors, or stored episodes differ from the acknowledged",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
