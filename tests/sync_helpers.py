"""A minimal phone for protocol tests: raw WatermelonDB pulls and pushes over HTTP."""
import json
import random
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.diary.simulation import NIGHT_HOURS, NIGHT_START, Course, simulate
from backend.sync.columns import to_epoch_ms

CLIENT_DIR = Path(__file__).resolve().parent / "sync_client"  # the real WatermelonDB client's scripts
NIGHT_MS = int(datetime(2026, 11, 28, 1, 14, tzinfo=UTC).timestamp() * 1000)
PHONE_TIMEZONE = "Europe/Berlin"  # where log_course's phone is


def raw_episode(record_id: str, child_id: str, **columns) -> dict:
    raw = {"id": record_id, "child_id": child_id, "started_at": NIGHT_MS, "duration_seconds": 30,
           "timezone": "Europe/Berlin", "sleep_state": "asleep", "stopped_when_woken": "yes",
           "side": "both", "body_parts": '["arms"]', "signs": "[]", "triggers": "", "jerk_count": None,
           "notes": None, "video_ref": None, "logged_by": "", "created_at": 0, "updated_at": 0,
           "_status": "created", "_changed": ""}
    return {**raw, **columns}


def raw_sleep(record_id: str, child_id: str, **columns) -> dict:
    raw = {"id": record_id, "child_id": child_id, "started_at": NIGHT_MS - 5 * 3600_000,
           "ended_at": NIGHT_MS + 5 * 3600_000, "kind": "night", "watched": True, "notes": None,
           "created_at": 0, "updated_at": 0}
    return {**raw, **columns}


def raw_child(record_id: str, **columns) -> dict:
    raw = {"id": record_id, "name": "Phone baby", "birth_date": "2026-10-01", "gestational_weeks": None,
           "sex": None, "timezone": "Europe/Berlin", "condition": "bnsm", "created_at": 0, "updated_at": 0}
    return {**raw, **columns}


V1_TABLES = ("children", "episodes", "sleep_sessions")
V2_TABLES = ("treatments", "development_checks", "episode_videos")  # added by schema version 2
MIGRATION_FROM_1 = {"from": 1, "tables": list(V2_TABLES), "columns": []}  # what WatermelonDB sends once


def changes(*, schema_version: int = 1, **tables) -> dict:
    """{"episodes": {"created": [...]}} -> every table of the schema version (and any named) with every list."""
    empty = {"created": [], "updated": [], "deleted": []}
    names = [*V1_TABLES, *(V2_TABLES if schema_version >= 2 else ()), *tables]
    return {name: {**empty, **tables.get(name, {})} for name in dict.fromkeys(names)}


class Phone:
    def __init__(self, client, account, device_id: str, schema_version: int = 1):
        self.client, self.account, self.device_id = client, account, device_id
        self.schema_version = schema_version
        self.last_pulled_at = None

    def pull(self, last_pulled_at="keep", migration: dict | None = None):
        last = self.last_pulled_at if last_pulled_at == "keep" else last_pulled_at
        response = self.client.get("/api/v1/sync", headers=self.account.headers, query_string={
            "last_pulled_at": "null" if last is None else last, "schema_version": self.schema_version,
            "migration": json.dumps(migration), "device_id": self.device_id})
        assert response.status_code == 200, response.json
        self.last_pulled_at = response.json["timestamp"]
        return response.json["changes"]

    def push(self, body: dict, last_pulled_at="keep"):
        last = self.last_pulled_at if last_pulled_at == "keep" else last_pulled_at
        return self.client.post("/api/v1/sync", data=json.dumps(body), headers=self.account.headers,
                                query_string={"last_pulled_at": last, "device_id": self.device_id})


def ids(table_changes: dict, kind: str) -> set:
    items = table_changes[kind]
    return {item if isinstance(item, str) else item["id"] for item in items}


def last_night() -> date:
    """The day the last night that is over in Berlin began (a simulated night runs 19:30-06:30 there): at 03:00
    tonight's night is still on, so it is the night before. The days a test aligns with log_course's diary."""
    now = datetime.now(ZoneInfo(PHONE_TIMEZONE))
    night_ends = (datetime.combine(now.date(), NIGHT_START) + timedelta(hours=NIGHT_HOURS)).time()
    return now.date() - timedelta(days=1 if now.time() >= night_ends else 2)


def log_course(client, account, child_id: str, course: Course, weeks: int = 12, seed: int = 1) -> None:
    """Push a simulated diary of `weeks` weeks ending with last_night(), as a phone in Berlin would."""
    first = last_night() - timedelta(weeks=weeks) + timedelta(days=1)
    tables = {"episodes": [], "sleep_sessions": []}
    for table, values in simulate(random.Random(seed), child_id, PHONE_TIMEZONE, first, weeks * 7, course):
        raw = {**values, "started_at": to_epoch_ms(values["started_at"])}
        if table == "sleep_sessions":
            raw["ended_at"] = to_epoch_ms(values["ended_at"])
        tables[table].append(raw)
    phone = Phone(client, account, "seedphone")
    phone.pull()
    response = phone.push(changes(episodes={"created": tables["episodes"]},
                                  sleep_sessions={"created": tables["sleep_sessions"]}))
    assert response.status_code == 200, response.json


def node_for_the_client() -> str:
    """Node.js, with WatermelonDB installed for tests/sync_client (make test installs it); else skip."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the WatermelonDB client cannot run")
    if not (CLIENT_DIR / "node_modules" / "@nozbe" / "watermelondb").is_dir():
        pytest.skip("WatermelonDB is not installed: run `npm ci` in tests/sync_client (make test does)")
    return node
