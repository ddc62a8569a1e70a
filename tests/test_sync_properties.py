"""Property tests of the sync rules: any interleaving of edits, pushes (some of whose replies
are lost) and pulls from several phones converges, loses and doubles nothing, and never brings
a deleted record back.

Each phone here follows WatermelonDB's client rules: records carry a status and the columns
changed locally; a pull applies remote records except the columns changed locally; a deleted
record is destroyed even if edited locally; a failed push keeps the local changes for the next
sync, which pulls first.
"""
import json
import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from backend.extensions import db
from tests.sync_helpers import changes, raw_episode

SIDES = ["left", "right", "both", "unknown"]
EDITED = ("side", "jerk_count")
PHONES = 2


class SimulatedPhone:
    def __init__(self, client, headers, device_id):
        self.client, self.headers, self.device_id = client, headers, device_id
        self.last_pulled_at = None
        self.records: dict[str, dict] = {}  # id -> raw (live locally)
        self.status: dict[str, str] = {}  # id -> created | updated (absent: synced)
        self.changed: dict[str, set] = {}
        self.deleted: set[str] = set()  # deleted locally, not yet pushed

    def pull(self) -> None:
        response = self.client.get("/api/v1/sync", headers=self.headers, query_string={
            "last_pulled_at": "null" if self.last_pulled_at is None else self.last_pulled_at,
            "device_id": self.device_id})
        assert response.status_code == 200, response.json
        episodes = response.json["changes"]["episodes"]
        for raw in episodes["created"] + episodes["updated"]:
            self._apply_remote(raw)
        for record_id in episodes["deleted"]:
            self.records.pop(record_id, None)
            self.status.pop(record_id, None)
            self.changed.pop(record_id, None)
            self.deleted.discard(record_id)
        self.last_pulled_at = response.json["timestamp"]

    def _apply_remote(self, raw: dict) -> None:
        record_id = raw["id"]
        if record_id in self.deleted:
            return  # deleted locally: the deletion is pushed next
        local = self.records.get(record_id)
        if local is None or record_id not in self.status:
            self.records[record_id] = dict(raw)
            return
        merged = dict(raw)
        for column in self.changed.get(record_id, ()):
            merged[column] = local[column]
        self.records[record_id] = merged

    def pending_edits(self) -> dict[str, dict]:
        """What this phone's next push changes: record id -> {column: value}."""
        edits = {}
        for record_id, status in self.status.items():
            columns = EDITED if status == "created" else self.changed.get(record_id, ())
            edits[record_id] = {column: self.records[record_id][column] for column in columns}
        return edits

    def push(self, lose_reply: bool) -> int:
        created = [self.records[i] for i, s in self.status.items() if s == "created"]
        updated = [self.records[i] for i, s in self.status.items() if s == "updated"]
        body = changes(episodes={"created": created, "updated": updated, "deleted": sorted(self.deleted)})
        response = self.client.post("/api/v1/sync", data=json.dumps(body), headers=self.headers,
                                    query_string={"last_pulled_at": self.last_pulled_at,
                                                  "device_id": self.device_id})
        assert response.status_code in (200, 409), response.json
        if response.status_code == 200 and not lose_reply:
            self.status.clear(), self.changed.clear(), self.deleted.clear()
        return response.status_code


class SyncMachine(RuleBasedStateMachine):
    def __init__(self, client, api):
        super().__init__()
        # A family of its own per run: what a phone sees must not depend on earlier runs.
        owner, partner = api.register(), api.register()
        self.child_id = api.create_child(owner)["id"]
        api.join(owner, self.child_id, partner)
        accounts = [owner, partner]
        self.phones = [SimulatedPhone(client, accounts[i].headers, f"p{uuid.uuid4().hex[:10]}")
                       for i in range(PHONES)]
        self.made: set[str] = set()
        self.expected: dict[str, dict] = {}  # id -> column -> value of the last accepted edit
        self.ever_deleted: set[str] = set()
        self.run_prefix, self.logged = uuid.uuid4().hex[:10], 0  # ids unique across runs, ordered within one
        for phone in self.phones:
            phone.pull()

    phone_index = st.integers(0, PHONES - 1)

    @rule(index=phone_index, minutes=st.integers(1, 10_000))
    def log_episode(self, index, minutes):
        phone = self.phones[index]
        self.logged += 1  # ids sort in the order logged: a replayed example picks the same records
        record_id = f"{self.run_prefix}{self.logged:06d}"
        raw = raw_episode(record_id, self.child_id)
        raw["started_at"] -= minutes * 60_000
        raw.pop("_status"), raw.pop("_changed")
        phone.records[record_id], phone.status[record_id] = raw, "created"
        self.made.add(record_id)

    @precondition(lambda self: any(p.records for p in self.phones))
    @rule(index=phone_index, pick=st.integers(0, 10_000), side=st.sampled_from(SIDES),
          column=st.sampled_from(["side", "jerk_count"]))
    def edit_episode(self, index, pick, side, column):
        phone = self.phones[index]
        if not phone.records:
            return
        record_id = sorted(phone.records)[pick % len(phone.records)]
        phone.records[record_id][column] = side if column == "side" else pick % 50
        phone.status.setdefault(record_id, "updated")
        phone.changed.setdefault(record_id, set()).add(column)

    @precondition(lambda self: any(p.records for p in self.phones))
    @rule(index=phone_index, pick=st.integers(0, 10_000))
    def delete_episode(self, index, pick):
        phone = self.phones[index]
        if not phone.records:
            return
        record_id = sorted(phone.records)[pick % len(phone.records)]
        # As WatermelonDB's markAsDeleted: even a never-pushed record is pushed as deleted
        # (its create may have reached the server with a lost reply).
        del phone.records[record_id]
        phone.status.pop(record_id, None)
        phone.changed.pop(record_id, None)
        phone.deleted.add(record_id)
        self.ever_deleted.add(record_id)

    @rule(index=phone_index, lose_reply=st.booleans())
    def sync(self, index, lose_reply):
        self.sync_phone(self.phones[index], lose_reply)

    @rule(index=phone_index, lose_reply=st.booleans())
    def push_only(self, index, lose_reply):
        """The push half of a sync that pulled a while ago: others may have pushed since."""
        self.push_phone(self.phones[index], lose_reply)

    def sync_phone(self, phone: SimulatedPhone, lose_reply: bool = False) -> int:
        phone.pull()
        return self.push_phone(phone, lose_reply)

    def push_phone(self, phone: SimulatedPhone, lose_reply: bool = False) -> int:
        if phone.last_pulled_at is None:
            phone.pull()
        edits = phone.pending_edits()
        status = phone.push(lose_reply)
        if status == 200:
            for record_id, columns in edits.items():
                self.expected.setdefault(record_id, {}).update(columns)
        return status

    @rule(index=phone_index)
    def pull_only(self, index):
        self.phones[index].pull()

    def settle(self) -> None:
        for _ in range(4):
            statuses = [self.sync_phone(phone) for phone in self.phones]
            if all(status == 200 for status in statuses) and not any(
                    p.status or p.deleted for p in self.phones):
                break
        for phone in self.phones:
            phone.pull()

    @invariant()
    def tombstones_never_come_back(self):
        rows = db.session.execute(text("SELECT id FROM episodes WHERE deleted_at IS NOT NULL")).scalars().all()
        live = set(db.session.execute(text("SELECT id FROM episodes WHERE deleted_at IS NULL")).scalars())
        db.session.rollback()
        self.tombstones = getattr(self, "tombstones", set()) | set(rows)
        assert not (self.tombstones & live), "a deleted episode came back"

    def teardown(self):
        self.settle()
        server = {row.id: row for row in db.session.execute(text(
            "SELECT id, side, jerk_count FROM episodes WHERE deleted_at IS NULL AND child_id = :child"),
            {"child": self.child_id})}
        db.session.rollback()
        for phone in self.phones:
            assert not phone.status and not phone.deleted, "a phone kept unsynced changes"
            assert set(phone.records) == set(server), "a phone and the server hold different episodes"
            for record_id, raw in phone.records.items():
                assert (raw["side"], raw["jerk_count"]) == (server[record_id].side, server[record_id].jerk_count)
        never_deleted = self.made - self.ever_deleted
        assert never_deleted <= set(server), "an episode nobody deleted was lost"
        for record_id, columns in self.expected.items():
            if record_id in server:
                stored = {"side": server[record_id].side, "jerk_count": server[record_id].jerk_count}
                assert {c: stored[c] for c in columns} == columns, "an accepted edit was overwritten by a stale push"


def test_any_interleaving_of_syncs_converges(app, client, api):
    with app.app_context():
        run_state_machine_as_test(
            lambda: SyncMachine(client, api),
            settings=settings(max_examples=60, stateful_step_count=30, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow]))
