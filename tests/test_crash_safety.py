"""Crash safety: SIGKILL the server during a large push and the dispatcher during a dispatch, restart, check.

A push is one transaction, so a server killed at any point leaves all of it stored or none, and the
phone's retry (WatermelonDB pushes again when the reply is lost) stores each record once. The
kills are aimed by watching the database from the side: while the request body is still being
read; once the inserts are on disk but uncommitted (the heap grows on PostgreSQL, the WAL on
SQLite), early and near their end; and the instant the commit shows, before the reply.

A dispatcher commits each reminder as sent right after the SMTP server's 250, and a killed
dispatcher's claims are taken over once their lease (SENDING_TIMEOUT) runs out, so no reminder is
lost; the one sent in the window between the 250 and that commit goes again, with the same
Message-ID, so the receiving side can drop it. The SMTP sink (a process of its own) records each
message durably before it answers, and can hold its answer so that a kill lands on either side
of the acceptance.

Servers (gunicorn: a master and one sync worker), dispatchers and the sink are processes of their
own, each leading a process group that is killed as a whole. They are forked from
multiprocessing's fork server, which imports the application once: a restart costs a fork, not
seconds of imports, and every new process opens the database afresh. Counts go to
test-artifacts/crash-summary.json.
"""
import asyncio
import contextlib
import http.client
import json
import multiprocessing
import os
import signal
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask.cli import ScriptInfo
from flask_migrate import upgrade
from gunicorn.app.base import BaseApplication
from sqlalchemy import create_engine, select, text

from backend import create_app
from backend.config import Config
from backend.extensions import db
from backend.reminders.dispatch import SENDING_TIMEOUT
from backend.reminders.models import Reminder
from tests.helpers import ApiHelper, config_for
from tests.sync_helpers import changes, raw_episode
from tests.test_scale_out import HttpClient, free_port, register

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = ROOT / "test-artifacts" / "crash-summary.json"
EPISODES_PER_PUSH = 20_000
WRITTEN_MID_PUSH = 1 << 20  # bytes of uncommitted rows on disk at the kill "inserting"
ATTEMPTS = 3  # at a kill point that timing may miss
REMINDERS = 30
REMINDER_BATCH = 6
WAIT = 90  # seconds: the bound on every wait
RESULTS: dict = {"push": {}, "dispatch": {}}


# ---- processes forked from the fork server -----------------------------------------------------

def crash_config(settings: dict) -> type[Config]:
    return type("CrashConfig", (Config,), {
        "SECRET_KEY": "crash-safety-secret", "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST_KIB": 64,
        "LOG_LEVEL": "WARNING", "MAX_CONTENT_LENGTH": 64 << 20, **settings})


def _lead_group(log: str) -> None:
    os.setsid()
    output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(output, 1)
    os.dup2(output, 2)


class Gunicorn(BaseApplication):
    def __init__(self, settings: dict, port: int):
        self.settings, self.port = settings, port
        super().__init__()

    def load_config(self):
        for key, value in {"bind": f"127.0.0.1:{self.port}", "workers": 1, "worker_class": "sync",
                           "timeout": WAIT}.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app(crash_config(self.settings))


def serve(settings: dict, port: int, log: str) -> None:
    _lead_group(log)
    Gunicorn(settings, port).run()


def dispatch_reminders(settings: dict, now: str, log: str) -> None:
    """`flask reminders dispatch --now NOW`, in a process of its own."""
    _lead_group(log)
    app = create_app(crash_config(settings))
    app.cli.main(["reminders", "dispatch", "--now", now], prog_name="flask",
                 obj=ScriptInfo(create_app=lambda: app), standalone_mode=False)


class RecordingSink:
    """Writes each message durably before answering; holds an answer while a `hold-N-when` file exists."""

    def __init__(self, folder: Path):
        self.folder, self.seen = folder, 0

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        number = self.seen
        if (self.folder / f"hold-{number}-before").exists():
            await self._hold(number)
            return "451 4.3.0 Try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        with open(self.folder / "received.jsonl", "a") as received:
            received.write(json.dumps({"number": number, "message_id": message["Message-ID"],
                                       "to": envelope.rcpt_tos, "subject": message["Subject"]}) + "\n")
            received.flush()
            os.fsync(received.fileno())
        if (self.folder / f"hold-{number}-after").exists():
            await self._hold(number)
        return "250 OK"

    async def _hold(self, number: int) -> None:
        (self.folder / f"holding-{number}").touch()
        deadline = time.monotonic() + WAIT
        while not (self.folder / f"release-{number}").exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


def smtp_sink(port: int, folder: str, log: str) -> None:
    _lead_group(log)
    controller = Controller(RecordingSink(Path(folder)), hostname="127.0.0.1", port=port)
    controller.start()
    (Path(folder) / "ready").touch()
    threading.Event().wait()


@pytest.fixture(scope="module")
def forks():
    """multiprocessing's fork server, preloaded with every module the application and its servers use."""
    create_app(crash_config({"SQLALCHEMY_DATABASE_URI": "sqlite://"}))  # imports the blueprints too
    context = multiprocessing.get_context("forkserver")
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("backend", "gunicorn", "aiosmtpd"))
    context.set_forkserver_preload([*loaded, __name__])
    return context


class Group:
    """A forked process leading its own process group, which kill() ends with SIGKILL as a whole."""

    def __init__(self, forks, target, *args):
        self.process = forks.Process(target=target, args=args)
        self.process.start()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.is_alive():  # killed before it led its group
            self.process.kill()
        self.process.join(timeout=WAIT)

    def wait(self) -> int:
        self.process.join(timeout=WAIT)
        assert self.process.exitcode is not None, "the process did not finish in time"
        return self.process.exitcode

    def until(self, condition, what: str, log: Path, interval: float = 0.005):
        """Wait for the condition while the process lives; its log's end tells why it died."""
        found = wait_for(lambda: condition() or (self.process.exitcode is not None and "died"), what, interval)
        if found == "died":
            pytest.fail(f"the process died before {what}: {log.read_text()[-3000:]}")
        return found


@pytest.fixture
def groups():
    started: list[Group] = []
    yield started
    for group in started:
        group.kill()


def wait_for(condition, what: str, interval: float = 0.005):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


# ---- the database, watched from the side ------------------------------------------------------

@dataclass
class Database:
    url: str
    folder: Path

    @property
    def kind(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"

    def settings(self, **extra) -> dict:
        return {"SQLALCHEMY_DATABASE_URI": self.url, "INSTANCE_DIR": str(self.folder / "instance"), **extra}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Database:
    """A freshly migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    else:
        try:
            url = request.getfixturevalue("scratch_database")()
        except pytest.skip.Exception as skipped:
            RESULTS["skipped"] = {"postgresql": str(skipped)}
            raise
    app = create_app(config_for(url, INSTANCE_DIR=str(tmp_path / "instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return Database(url, tmp_path)


class Probe:
    """A separate connection that reads what others have committed, and sees writes not yet committed."""

    def __init__(self, database: Database):
        self.database = database
        self.engine = create_engine(database.url)
        self.connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()

    def scalar(self, sql: str, **params):
        return self.connection.execute(text(sql), params).scalar()

    def version(self) -> int:
        """The highest version stored in episodes: a push's commit raises it (its version is above all before)."""
        return self.scalar("SELECT max(version) FROM episodes") or 0

    def written(self) -> int:
        """Bytes on disk that uncommitted inserts grow: the heap on PostgreSQL, the WAL on SQLite."""
        if self.database.kind == "postgresql":
            return self.scalar("SELECT pg_relation_size('episodes')")
        wal = Path(self.database.url.removeprefix("sqlite:///") + "-wal")
        return wal.stat().st_size if wal.exists() else 0

    def open_transaction(self) -> str | None:
        """PostgreSQL: the statement of another session's transaction that has written (has an xid)."""
        if self.database.kind != "postgresql":
            return None
        return self.scalar("SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL LIMIT 1")

    def can_write(self) -> bool:
        """SQLite: another writer gets the write lock within a second (PostgreSQL locks rows only)."""
        if self.database.kind != "sqlite":
            return True
        other = sqlite3.connect(self.database.url.removeprefix("sqlite:///"), timeout=1, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            other.close()

    def before_push(self) -> tuple[int, int]:
        if self.database.kind == "sqlite":
            busy, _, _ = self.connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
            assert busy == 0
        return self.version(), self.written()

    def settle(self) -> None:
        """Wait until the killed server's sessions are gone (PostgreSQL rolls back what they left open)."""
        if self.database.kind == "postgresql":
            wait_for(lambda: self.scalar("SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = "
                                         "current_database() AND pid <> pg_backend_pid()"),
                     "the killed server's sessions to end")

    def integrity(self) -> str:
        if self.database.kind == "sqlite":
            return self.scalar("PRAGMA integrity_check")
        return "ok"

    def stored(self, child_id: str) -> tuple[int, set[int]]:
        rows = self.connection.execute(text("SELECT version FROM episodes WHERE child_id = :child"),
                                       {"child": child_id}).scalars().all()
        return len(rows), set(rows)

    def summary(self, child_id: str) -> dict | None:
        stale = self.connection.execute(text("SELECT stale FROM child_summaries WHERE child_id = :child"),
                                        {"child": child_id}).scalar_one_or_none()
        return None if stale is None else {"stale": bool(stale)}


@pytest.fixture
def probe(database):
    watcher = Probe(database)
    yield watcher
    watcher.close()


# ---- a phone's large push, and the server killed under it ----------------------------------------

class Server:
    def __init__(self, forks, groups: list, database: Database):
        port, log = free_port(), database.folder / "gunicorn.log"
        self.group = Group(forks, serve, database.settings(), port, str(log))
        groups.append(self.group)
        self.client, self.port = HttpClient(f"http://127.0.0.1:{port}"), port
        self.group.until(self._answers, f"the server answered on port {port}", log, interval=0.05)

    def _answers(self) -> bool:
        with contextlib.suppress(OSError):
            return self.client.get("/healthz").status_code == 200
        return False


class Push:
    """One push in flight on a thread of its own: the reply, or the error of a connection cut by the kill."""

    def __init__(self, port: int, headers: dict, body: bytes, device: str, last_pulled_at: int):
        self.sent, self.outcome = threading.Event(), None
        path = f"/api/v1/sync?last_pulled_at={last_pulled_at}&device_id={device}"
        self.thread = threading.Thread(target=self._run, args=(port, path, headers, body))
        self.thread.start()

    def _run(self, port, path, headers, body) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        try:
            connection.request("POST", path, body=body, headers={**headers, "Content-Type": "application/json"})
            self.sent.set()
            self.outcome = connection.getresponse().status
        except OSError as error:
            self.outcome = type(error).__name__
        finally:
            self.sent.set()
            connection.close()

    def result(self):
        self.thread.join(timeout=WAIT)
        return self.outcome


@dataclass
class Look:
    phase: str
    on_disk: int  # bytes the push has written so far


UNCOMMITTED = ("taking the version", "inserting", "inserted, not committed")


class PushWatch:
    """The push as seen from the side: the versions stored, the bytes on disk, PostgreSQL's sessions."""

    def __init__(self, probe: Probe):
        self.probe = probe
        self.version, self.written = probe.before_push()
        self.peak = 0  # the most bytes seen on disk before the commit

    def look(self) -> Look:
        statement = self.probe.open_transaction() or ""
        on_disk = self.probe.written() - self.written
        if self.probe.version() > self.version:  # read last: a commit in between is never missed
            return Look("committed", on_disk)
        self.peak = max(self.peak, on_disk)
        if statement.startswith(("UPDATE child_summaries", "COMMIT")):
            return Look("inserted, not committed", on_disk)
        if on_disk > 0:
            return Look("inserting", on_disk)
        return Look("taking the version" if statement else "reading the body", on_disk)


def reached(target: str, look: Look, push: Push, at_bytes: int) -> bool:
    if look.phase == "committed" or not push.thread.is_alive():
        return True
    if target == "reading the body":
        return push.sent.is_set()
    return target != "committed" and (look.phase == "inserted, not committed" or look.on_disk >= at_bytes)


@dataclass
class Family:
    account: object
    children: list[str]
    last_pulled_at: int
    device: str = "crash-phone"


def set_up_family(server: Server, children: int) -> Family:
    account = register(server.client, "crash-parent@example.org")
    ids = [server.client.post("/api/v1/children", headers=account.headers, json={
        "name": f"Crash {index}", "birth_date": "2026-10-01", "timezone": "Europe/Berlin",
        "condition": "bnsm"}).json["id"] for index in range(children)]
    assert server.client.get("/api/v1/children", headers=account.headers).status_code == 200  # fresh summaries
    pulled = server.client.get("/api/v1/sync", headers=account.headers, query_string={
        "last_pulled_at": "null", "device_id": "crash-phone"}).json["timestamp"]
    return Family(account, ids, pulled)


def episodes_push(child_id: str) -> bytes:
    batch = [raw_episode(f"{child_id}-{index:05d}", child_id) for index in range(EPISODES_PER_PUSH)]
    return json.dumps(changes(episodes={"created": batch})).encode()


@dataclass
class PushCrashes:
    forks: object
    groups: list
    probe: Probe
    server: Server
    family: Family
    kills: list = field(default_factory=list)
    peak: int = 0  # bytes on disk just before a commit, as last seen

    def kill_during(self, child_id: str, body: bytes, target: str, at_bytes: int = 0) -> dict:
        """Push, SIGKILL the server at the target, check all or nothing is stored, restart the server."""
        before, summary = self.probe.stored(child_id), self.probe.summary(child_id)
        watch = PushWatch(self.probe)
        push = self._push(body)
        look = wait_for(lambda: self._at(target, at_bytes, watch, push), f"the push: {target}", interval=0.002)
        self.server.group.kill()
        reply = push.result()
        self.probe.settle()
        after, version = self.probe.stored(child_id), self.probe.version()
        stored = ("all" if after == (EPISODES_PER_PUSH, {version}) and version > watch.version
                  else "none" if after == before and version == watch.version else f"partial: {after}")
        kill = {"target": target, "seen at the kill": look.phase, "MB on disk": round(look.on_disk / 2**20, 1),
                "stored after the kill": stored, "phone got a reply": isinstance(reply, int),
                "integrity": self.probe.integrity()}
        kill["mid_write"] = stored == "none" and look.phase in UNCOMMITTED
        self.kills.append(kill)
        assert stored in ("none", "all") and kill["integrity"] == "ok", kill
        assert self.probe.summary(child_id) == ({"stale": True} if stored == "all" else summary), kill
        if stored == "all":
            self.peak = watch.peak
        self.server = Server(self.forks, self.groups, self.probe.database)
        return kill

    def retry_succeeds(self, child_id: str, body: bytes) -> None:
        """The phone's retry after the lost reply: every record stored exactly once."""
        assert self._push(body).result() == 200
        count, versions = self.probe.stored(child_id)
        assert count == EPISODES_PER_PUSH and versions == {self.probe.version()}
        assert self.probe.summary(child_id) == {"stale": True}

    @staticmethod
    def _at(target: str, at_bytes: int, watch: PushWatch, push: Push) -> Look | None:
        look = watch.look()
        return look if reached(target, look, push, at_bytes) else None

    def _push(self, body: bytes) -> Push:
        return Push(self.server.port, self.family.account.headers, body, self.family.device,
                    self.family.last_pulled_at)


def test_a_push_killed_at_any_point_is_stored_whole_or_not_at_all(forks, groups, database, probe):
    """The phone retries one push through kills while reading it, while inserting, after the commit;
    then another one killed at the end of its inserts, just before the commit."""
    started = time.monotonic()
    server = Server(forks, groups, database)
    family = set_up_family(server, 1 + ATTEMPTS)
    crashes = PushCrashes(forks, groups, probe, server, family)
    first, *others = family.children
    body = episodes_push(first)
    crashes.kill_during(first, body, "reading the body")
    for _attempt in range(ATTEMPTS):
        if crashes.kill_during(first, body, "inserting", at_bytes=WRITTEN_MID_PUSH)["mid_write"]:
            break
    crashes.kill_during(first, body, "committed")
    crashes.retry_succeeds(first, body)
    for attempt, child_id in enumerate(others):
        body = episodes_push(child_id)
        near_the_end = int(crashes.peak * (0.9 - 0.15 * attempt))
        kill = crashes.kill_during(child_id, body, "end of the inserts", at_bytes=near_the_end)
        crashes.retry_succeeds(child_id, body)
        if kill["mid_write"]:
            break
    mid_write = sum(kill["mid_write"] for kill in crashes.kills)
    RESULTS["push"][database.kind] = {
        "records_per_push": EPISODES_PER_PUSH, "scenarios": len(crashes.kills), "kills_mid_write": mid_write,
        "partial_writes": sum(kill["stored after the kill"] not in ("all", "none") for kill in crashes.kills),
        "kills": crashes.kills, "seconds": round(time.monotonic() - started, 1)}
    assert mid_write >= 1, crashes.kills


# ---- the dispatcher killed during a dispatch -------------------------------------------------------

@dataclass
class Sink:
    folder: Path
    port: int

    def received(self) -> list[dict]:
        path = self.folder / "received.jsonl"
        lines = path.read_text().split("\n")[:-1] if path.exists() else []  # whole lines only
        return [json.loads(line) for line in lines]

    def seen(self) -> int:
        """DATA commands answered or held so far (one held before accepting is not in received)."""
        held = [int(path.name.split("-")[1]) for path in self.folder.glob("holding-*")]
        return max([*held, *(message["number"] for message in self.received())], default=0)

    def hold(self, number: int, when: str) -> None:
        (self.folder / f"hold-{number}-{when}").touch()

    def holding(self, number: int) -> bool:
        return (self.folder / f"holding-{number}").exists()

    def release(self, number: int) -> None:
        (self.folder / f"release-{number}").touch()


@pytest.fixture
def sink(forks, groups, tmp_path) -> Sink:
    folder, port = tmp_path / "sink", free_port()
    folder.mkdir()
    groups.append(Group(forks, smtp_sink, port, str(folder), str(tmp_path / "sink.log")))
    wait_for(lambda: (folder / "ready").exists(), "the SMTP sink", interval=0.05)
    return Sink(folder, port)


@pytest.fixture
def application(database):
    """The application in this process, to set up the children and read the outbox."""
    return create_app(config_for(database.url, INSTANCE_DIR=str(database.folder / "instance")))


def due_reminders(app) -> datetime:
    """REMINDERS children, each with a weekly schedule; the instant when all are due."""
    api = ApiHelper(app.test_client())
    owner, due = api.register(), None
    for index in range(REMINDERS):
        child = api.create_child(owner, name=f"Crash {index:02d}")
        response = api.client.put(f"/api/v1/children/{child['id']}/reminder-schedule", headers=owner.headers,
                                  json={"cadence": "weekly", "weekday": "sunday", "local_time": "19:00",
                                        "enabled": True})
        assert response.status_code == 200, response.json
        due = datetime.fromisoformat(response.json["next_due_at"])
    with app.app_context():
        db.engine.dispose()  # no connection left open beside the dispatchers
    return due + timedelta(minutes=1)


def outbox(app) -> list[Reminder]:
    with app.app_context():
        rows = db.session.scalars(select(Reminder)).all()
        db.session.expunge_all()
        db.session.rollback()
        db.engine.dispose()
    return rows


def message_id(reminder: Reminder) -> str:
    return f"<{reminder.id}@myodiary.example>"


@dataclass
class Dispatches:
    forks: object
    groups: list
    database: Database
    app: object
    probe: Probe
    sink: Sink
    kills: list = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.database.folder / "dispatch.log"

    def start(self, now: datetime) -> Group:
        settings = self.database.settings(MAIL_SERVER="127.0.0.1", MAIL_PORT=self.sink.port, MAIL_USE_TLS=False,
                                          REMINDER_BATCH=REMINDER_BATCH)
        group = Group(self.forks, dispatch_reminders, settings, now.isoformat(), str(self.log))
        self.groups.append(group)
        return group

    def run(self, now: datetime) -> str:
        """A dispatcher left to finish; what it printed."""
        assert self.start(now).wait() == 0, self.log.read_text()[-3000:]
        return self.log.read_text().splitlines()[-1]

    def kill_on_hold(self, now: datetime, when: str) -> None:
        """Kill while the sink holds its answer to this dispatcher's 3rd message, before or after accepting it."""
        number = self.sink.seen() + 3
        self.sink.hold(number, when)
        group = self.start(now)
        group.until(lambda: self.sink.holding(number), f"message {number} reached the sink", self.log, interval=0.01)
        assert self.probe.can_write(), "a stalled mail server must not hold the database's write lock"
        group.kill()
        self.sink.release(number)
        self._record(f"the sink holding its answer, {when} accepting", now)

    def kill_after_commits(self, now: datetime, commits: int) -> None:
        """Kill right after the dispatcher has marked this many reminders sent."""
        sent = self.sent()
        group = self.start(now)
        group.until(lambda: self.sent() >= sent + commits, f"{commits} reminders were marked sent", self.log,
                    interval=0.002)
        group.kill()
        self._record(f"right after marking {commits} sent", now)

    def kill_after_acceptance(self, now: datetime, messages: int) -> None:
        """Kill as soon as the sink has accepted this many: in the window, unless the commit was quicker."""
        received = len(self.sink.received())
        group = self.start(now)
        group.until(lambda: len(self.sink.received()) >= received + messages, f"the sink accepted {messages}",
                    self.log, interval=0.002)
        group.kill()
        self._record(f"right after the sink accepted {messages}", now)

    def sent(self) -> int:
        return self.probe.scalar("SELECT count(*) FROM reminders WHERE status = 'sent'")

    def _record(self, point: str, started: datetime) -> None:
        self.probe.settle()
        accepted = {message["message_id"] for message in self.sink.received()}
        abandoned = [row for row in outbox(self.app) if row.status == "sending" and claimed_in(row, started)]
        in_window = sorted(message_id(row) for row in abandoned if message_id(row) in accepted)
        self.kills.append({"point": point, "claims_abandoned": len(abandoned), "in_window": in_window})


PASS_APART = timedelta(seconds=30)  # the killed passes' clocks, far enough apart to tell their claims apart


def claimed_in(row, started: datetime) -> bool:
    """Claimed by the pass that started at this (pretended) time: claims carry the pass's clock."""
    return started <= row.claimed_at < started + PASS_APART


def test_a_dispatcher_killed_mid_dispatch_loses_nothing_and_resends_only_the_unacknowledged(
        forks, groups, database, probe, application, sink):
    started = time.monotonic()
    due = due_reminders(application)
    runs = Dispatches(forks, groups, database, application, probe, sink)
    killed_at = [due + PASS_APART * number for number in range(4)]
    runs.kill_on_hold(killed_at[0], "before")
    runs.kill_on_hold(killed_at[1], "after")
    runs.kill_after_commits(killed_at[2], commits=3)
    runs.kill_after_acceptance(killed_at[3], messages=3)
    runs.run(due + PASS_APART * 4)
    leased = [row for row in outbox(application) if row.status != "sent"]
    assert all(row.status == "sending" and any(claimed_in(row, at) for at in killed_at)
               for row in leased)  # left to their leases
    assert len(leased) == sum(kill["claims_abandoned"] for kill in runs.kills)
    assert len({m["message_id"] for m in sink.received()}) == len(sink.received())  # nothing twice yet
    leases_over = killed_at[-1] + PASS_APART + SENDING_TIMEOUT
    after_the_leases = runs.run(leases_over)
    assert after_the_leases == f"planned 0, sent {len(leased)}, retrying 0, failed 0, skipped 0"
    assert runs.run(leases_over + SENDING_TIMEOUT + PASS_APART).startswith("planned 0, sent 0,")
    rows, received = outbox(application), sink.received()
    copies: dict[tuple, list[str]] = {}
    for message in received:
        copies.setdefault((tuple(message["to"]), message["subject"]), []).append(message["message_id"])
    duplicates = {key: ids for key, ids in copies.items() if len(ids) > 1}
    in_window = sorted(mid for kill in runs.kills for mid in kill["in_window"])
    lost = [row.id for row in rows if message_id(row) not in {m["message_id"] for m in received}]
    RESULTS["dispatch"][database.kind] = {
        "reminders": len(rows), "kills": runs.kills, "lost": len(lost), "duplicates": len(duplicates),
        "kills_in_window": sum(bool(kill["in_window"]) for kill in runs.kills),
        "duplicates_outside_window": len({ids[0] for ids in duplicates.values()} - set(in_window)),
        "duplicates_carry_one_message_id": all(len(set(ids)) == 1 for ids in duplicates.values()),
        "lease_seconds": SENDING_TIMEOUT.total_seconds(), "message_id": "<outbox row id@myodiary.example>",
        "resend_window": "from the SMTP server's 250 for DATA to the commit marking that one row sent",
        "seconds": round(time.monotonic() - started, 1)}
    assert len(rows) == REMINDERS and {row.status for row in rows} == {"sent"}
    assert lost == []
    assert runs.kills[0]["in_window"] == []  # killed before the acceptance: sent once, after the lease
    assert len(runs.kills[1]["in_window"]) == 1  # killed between the acceptance and the commit
    assert all(len(kill["in_window"]) <= 1 for kill in runs.kills)
    assert sorted(ids[0] for ids in duplicates.values()) == in_window
    assert all(len(ids) == 2 and len(set(ids)) == 1 for ids in duplicates.values())


# ---- the counts, for the README ------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def crash_summary(request):
    started = time.monotonic()
    yield
    if not RESULTS["push"] and not RESULTS["dispatch"]:
        return
    RESULTS["seconds"] = round(time.monotonic() - started, 1)
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text(json.dumps(RESULTS, indent=2, default=str) + "\n")
    push, dispatch = RESULTS["push"].values(), RESULTS["dispatch"].values()
    line = (f"crash safety: {sum(p['scenarios'] for p in push)} push kills on {'+'.join(RESULTS['push'])} "
            f"({sum(p['kills_mid_write'] for p in push)} mid-write, {sum(p['partial_writes'] for p in push)} partial); "
            f"{sum(len(d['kills']) for d in dispatch)} dispatcher kills on {'+'.join(RESULTS['dispatch'])}: "
            f"{sum(d['lost'] for d in dispatch)} reminders lost, {sum(d['duplicates'] for d in dispatch)} sent twice "
            f"(one Message-ID each: {all(d['duplicates_carry_one_message_id'] for d in dispatch)}); "
            f"{RESULTS['seconds']} s -> {SUMMARY.relative_to(ROOT)}")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + line)
