"""Past one machine, shown on one: two gunicorn instances and two dispatcher processes against one PostgreSQL.

The web tier keeps no state of its own, so two phones of one family syncing through different
instances at the same time converge with nothing lost or doubled; many phones of many families do too,
in the real WatermelonDB client, with no write lock shared by all families (issue 23); two dispatchers in
separate processes never send a reminder twice. Real processes, real sockets, a real SMTP sink.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from backend import create_app
from backend.extensions import db
from tests.helpers import PASSWORD, Account, config_for, mark_verified
from tests.sync_helpers import CLIENT_DIR, Phone, changes, node_for_the_client, raw_episode

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROUNDS, EPISODES_PER_ROUND = 8, 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HttpResponse:
    def __init__(self, status: int, body: bytes):
        self.status_code, self.body = status, body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


class HttpClient:
    """What tests.sync_helpers.Phone needs of a client (get, post), over a real socket to one instance."""

    def __init__(self, base: str):
        self.base = base

    def request(self, method: str, path: str, headers=None, query_string=None, data=None, json_body=None):
        url = self.base + path + ("?" + urllib.parse.urlencode(query_string) if query_string else "")
        body = json.dumps(json_body).encode() if json_body is not None else (data.encode() if data else None)
        request = urllib.request.Request(url, data=body, method=method, headers={
            "Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return HttpResponse(response.status, response.read())
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, error.read())

    def get(self, path, headers=None, query_string=None):
        return self.request("GET", path, headers, query_string)

    def post(self, path, headers=None, query_string=None, data=None, json=None):
        return self.request("POST", path, headers, query_string, data=data, json_body=json)

    def put(self, path, headers=None, json=None):
        return self.request("PUT", path, headers, json_body=json)


@pytest.fixture(scope="module")
def tmp_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scale-out")


@pytest.fixture(scope="module")
def database(scratch_database, tmp_dir):
    url = scratch_database()
    app = create_app(config_for(url, INSTANCE_DIR=str(tmp_dir / "instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def environment(url: str, tmp_path: Path, **extra) -> dict:
    return {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "scale-out-secret", "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST_KIB": "64", "MYODIARY_INSTANCE_DIR": str(tmp_path / "instance"),
            "LOG_LEVEL": "WARNING", "REGISTRATIONS_PER_ADDRESS": "10000 per hour", **extra}  # all from 127.0.0.1


@pytest.fixture(scope="module")
def two_instances(database, tmp_dir):
    """Two gunicorn instances (two workers each) on their own ports, one database."""
    ports, processes = [free_port(), free_port()], []
    for port in ports:
        with open(tmp_dir / f"gunicorn-{port}.log", "wb") as log:  # the child keeps its own copy of the file
            processes.append(subprocess.Popen(
                [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "backend:create_app()"],
                cwd=ROOT, env=environment(database, tmp_dir), stdout=log, stderr=subprocess.STDOUT))
    try:
        clients = [HttpClient(f"http://127.0.0.1:{port}") for port in ports]
        for client in clients:
            _wait_until_up(client)
        yield clients
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)


def _wait_until_up(client: HttpClient) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if client.get("/healthz").status_code == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{client.base} did not start")


def register(client: HttpClient, email: str, role: str = "caregiver", database: str | None = None) -> Account:
    """A new account; given the `database`, its address marked verified (a shortcut: this module is not about
    verification)."""
    user = client.post("/api/v1/users", json={"email": email, "password": PASSWORD, "name": email.split("@")[0],
                                              "role": role}).json
    if database is not None:
        engine = create_engine(database)
        with engine.begin() as connection:
            mark_verified(connection, user["id"])
        engine.dispose()
    token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).json["token"]
    return Account(user["id"], email, role, token, {"Authorization": f"Bearer {token}"})


def family_across(first: HttpClient, second: HttpClient, database: str,
                  name: str) -> tuple[Account, Account, str]:
    """An owner on the first instance, a second caregiver who joins through the second."""
    owner = register(first, f"{name}-owner@example.org", database=database)
    partner = register(second, f"{name}-partner@example.org", database=database)
    child = first.post("/api/v1/children", headers=owner.headers, json={
        "name": "Mila", "birth_date": "2026-10-01", "timezone": "Europe/Berlin", "condition": "bnsm"}).json
    code = first.post(f"/api/v1/children/{child['id']}/invites", headers=owner.headers,
                      json={"role": "caregiver"}).json["code"]
    assert second.post(f"/api/v1/invites/{code}/accept", headers=partner.headers).status_code == 200
    return owner, partner, child["id"]


def phone_session(phone: Phone, child_id: str, name: str, made: list[str], failures: list[str]) -> None:
    """Rounds of: new episodes, pull, push; a 409 (the other phone pushed first) means pull and push again."""
    for round_number in range(ROUNDS):
        batch = [raw_episode(f"{name}r{round_number}e{index}", child_id) for index in range(EPISODES_PER_ROUND)]
        phone.pull()
        for _attempt in range(10):
            response = phone.push(changes(episodes={"created": batch}))
            if response.status_code == 200:
                made.extend(episode["id"] for episode in batch)
                break
            if response.status_code != 409:
                failures.append(f"{name}: {response.status_code} {response.body[:200]!r}")
                return
            phone.pull()
        else:
            failures.append(f"{name}: still 409 after 10 tries")


def test_two_phones_through_two_instances_converge_with_nothing_lost_or_doubled(two_instances, database):
    first, second = two_instances
    owner, partner, child_id = family_across(first, second, database, "sync")
    phones = {"a": Phone(first, owner, "phone-a"), "b": Phone(second, partner, "phone-b")}
    made, failures = [], []
    threads = [threading.Thread(target=phone_session, args=(phone, child_id, name, made, failures))
               for name, phone in phones.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(made) == len(set(made)) == 2 * ROUNDS * EPISODES_PER_ROUND
    for phone in (Phone(first, owner, "fresh-1"), Phone(second, partner, "fresh-2")):
        assert {e["id"] for e in phone.pull()["episodes"]["created"]} == set(made)
    engine = create_engine(database)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*), count(DISTINCT id) FROM episodes WHERE child_id = :child"),
                                  {"child": child_id}).one()
    engine.dispose()
    assert tuple(rows) == (len(made), len(made))


CROWD_FAMILIES, CROWD_ROUNDS = 6, 6
COMPARED = {"episodes": ("child_id", "started_at", "jerk_count", "notes"),
            "sleep_sessions": ("child_id", "started_at", "ended_at")}


def test_many_phones_of_many_families_at_once_end_with_every_record_exactly_once(two_instances, database, tmp_dir):
    """Twelve phones (two parents of six families, each parent on another instance) log, edit and delete in
    the real WatermelonDB client, all at once; in the end every phone holds exactly its family's records as
    the database has them, with no record lost, doubled or told to the client wrongly."""
    node = node_for_the_client()
    families = []
    for number in range(CROWD_FAMILIES):
        owner, partner, child_id = family_across(*two_instances, database, f"crowd{number}")
        families.append({"childId": child_id, "phones": [
            {"name": f"f{number}-{who}", "baseUrl": client.base, "token": account.token,
             "deviceId": f"crowd{number}{who}phone"}
            for who, account, client in (("mum", owner, two_instances[0]), ("dad", partner, two_instances[1]))]})
    report_file = tmp_dir / "crowd.json"
    env = {**os.environ, "MYODIARY_CROWD_CONFIG": json.dumps({"families": families, "rounds": CROWD_ROUNDS,
                                                             "seed": 20261204}),
           "MYODIARY_CROWD_REPORT": str(report_file)}
    run = subprocess.run([node, "crowd.js"], cwd=CLIENT_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(report_file.read_text())
    assert report["diagnostics"] == []
    phones = report["phones"]
    assert [failure for phone in phones.values() for failure in phone["failures"]] == []
    assert all(not phone["unsynced"] and phone["issue_count"] == 0 for phone in phones.values())
    stored = _stored_records(database)
    for family in families:
        made, deleted = ({record for spec in family["phones"] for record in phones[spec["name"]][kind]}
                         for kind in ("made", "deleted"))
        ours = {table: {rid: row for rid, row in rows.items() if row["child_id"] == family["childId"]}
                for table, rows in stored.items()}
        stored_ids = {rid for rows in ours.values() for rid in rows}
        assert made - deleted <= stored_ids <= made  # (one deleted before its first push never reached the server)
        live = {table: {rid: row for rid, row in rows.items() if not row.pop("deleted")}
                for table, rows in ours.items()}
        for spec in family["phones"]:
            held = {table: {record["id"]: {column: record[column] for column in COMPARED[table]}
                            for record in records} for table, records in phones[spec["name"]]["records"].items()}
            assert held == live, spec["name"]
    night = {kind: sum(len(phone[kind]) if kind == "deleted" else phone[kind] for phone in phones.values())
             for kind in ("edits", "deleted", "conflicts")}
    assert all(night.values()), night  # the night had edits, deletions and 409s


def _stored_records(database: str) -> dict[str, dict[str, dict]]:
    """Every stored episode and sleep session, by id: the compared columns as the phones hold them."""
    engine = create_engine(database)
    stored = {}
    with engine.connect() as connection:
        for table, columns in COMPARED.items():
            times = [column for column in columns if column.endswith("_at")]
            rows = connection.execute(text(f"SELECT id, deleted_at IS NOT NULL AS deleted, {', '.join(columns)} "
                                           f"FROM {table}")).mappings()
            stored[table] = {row["id"]: {**row, **{column: _epoch_ms(row[column]) for column in times}}
                             for row in rows}
            for row in stored[table].values():
                row.pop("id")
    engine.dispose()
    return stored


def _epoch_ms(value):
    return None if value is None else int(value.replace(tzinfo=value.tzinfo or UTC).timestamp() * 1000)


class CountingSink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((tuple(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_two_dispatcher_processes_never_send_a_reminder_twice(two_instances, database, tmp_dir):
    first, second = two_instances
    owner, partner, child_id = family_across(first, second, database, "mail")
    schedule = first.put(f"/api/v1/children/{child_id}/reminder-schedule", headers=owner.headers, json={
        "cadence": "weekly", "weekday": "sunday", "local_time": "19:00", "enabled": True}).json
    due = datetime.fromisoformat(schedule["next_due_at"]) + timedelta(minutes=1)
    sink, port = CountingSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    env = environment(database, tmp_dir, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), MAIL_USE_TLS="false")
    try:
        dispatchers = [subprocess.Popen([str(BIN / "flask"), "--app", "backend", "reminders", "dispatch",
                                         "--now", due.isoformat()], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [process.communicate(timeout=120) for process in dispatchers]
    finally:
        controller.stop()
    assert [process.returncode for process in dispatchers] == [0, 0], outputs
    recipients = sorted(rcpt for rcpts, _ in sink.messages for rcpt in rcpts)
    assert recipients == sorted([owner.email, partner.email])  # once each, though two dispatchers ran
    history = second.get(f"/api/v1/children/{child_id}/reminders", headers=owner.headers).json["items"]
    assert sorted(item["status"] for item in history) == ["sent", "sent"]
