"""Load test (issue 7): 50 simulated phones syncing concurrently against gunicorn and PostgreSQL.

    python bench/load_test.py [--quick] [--seconds 60] [--families 25] [--think-ms 250] [--apply-ms 100]

Starts gunicorn (one sync worker per core, `bench.http_bench:bench_app()`) on a scratch
PostgreSQL database on 127.0.0.1 (a SQLite file, with a note, when PostgreSQL does not answer).
Each family is one child with two caregivers (the owner invites the second), each caregiver on
their own phone (its own sync `device_id`): 25 families, 50 phones. Every phone loops for
`--seconds` (60; 10 with --quick), one thread each:

- logs 1-3 new episodes locally (ids chosen on the phone, at most 1,000 per phone), and in 3
  rounds of 10 edits one of the child's 5 latest synced episodes, its own or its partner's (two
  caregivers correcting the same night: the case that makes 409s);
- synchronizes as WatermelonDB's `synchronize()` does: pull `GET /api/v1/sync?last_pulled_at=
  &schema_version=1&migration=null&device_id=`, merge (local changes win), wait a random 0 to
  2 x `--apply-ms` (the phone applying the pull, the mobile network; left out of the sync
  latency), then push `POST /api/v1/sync?last_pulled_at=&device_id=` (no Content-Type, like the
  reference client); on 409 it pulls and pushes again (at most 5 attempts); connection errors
  and 5xx are counted and the changes stay pending for the next round;
- waits a random 0 to 2 x `--think-ms` before the next round.

Real phones sync every few minutes; here each phone syncs several times a second, so 50 phones
are a compressed, saturating load, and latencies include the queue in front of the workers.

Then every phone pushes what is still pending and does a final pull, and a fresh phone per
caregiver pulls everything. Checks (exit 1 when any fails): no 5xx, no connection errors, no
4xx other than 409, nothing left pending, no protocol anomaly (a `created` for a record the phone
holds, an `updated` for one it never had, an id twice, `_status` sent back); the database holds
exactly the episodes the phones created (rows = distinct ids = the phones' ids); every phone
holds, after its final pull, exactly its child's episodes, and so does a fresh full pull.
Progress every 5 s on stderr; summary on stdout; figures in bench/results/load.json
(load-quick.json with --quick).
"""
import argparse
import http.client
import itertools
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_bench import (  # noqa: E402
    Connection,
    add_child,
    expect,
    gunicorn,
    percentile,
    prepare_database,
    sign_up,
)
from bench.sync_bench import RESULTS, databases, drop_postgres, progress  # noqa: E402

MAX_ATTEMPTS = 5  # pull + push rounds per synchronize() before giving up until the next round
MAX_EPISODES_PER_PHONE = 1_000
EDIT_SHARE = 0.3  # rounds that also edit an episode
RECENT = 5  # edits pick among the child's latest entries: both caregivers correct the same night
TABLES = ("children", "episodes", "sleep_sessions")


# ---- one phone -------------------------------------------------------------------------------

@dataclass
class PhoneStats:
    statuses: Counter = field(default_factory=Counter)
    connection_errors: int = 0
    pulls: int = 0
    pushes: int = 0
    syncs: int = 0
    failed_syncs: int = 0
    episodes: int = 0
    edits: int = 0
    anomalies: list[str] = field(default_factory=list)
    pull_latencies: list[float] = field(default_factory=list)
    push_latencies: list[float] = field(default_factory=list)
    sync_latencies: list[float] = field(default_factory=list)


class Phone:
    """A caregiver's phone: a local store of its child's episodes and WatermelonDB's sync steps."""

    def __init__(self, port: int, token: str, device_id: str, child_id: str, seed: int):
        self.conn, self.device_id, self.child_id = Connection(port), device_id, child_id
        self.headers = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random(seed)
        self.last_pulled_at: int | None = None
        self.local: dict[str, dict] = {}  # episode id -> raw record, as the phone holds it
        self.pending: dict[str, str] = {}  # episode id -> "created" | "updated", not yet pushed
        self.created_here: set[str] = set()
        self.stats = PhoneStats()

    # -- local writes --

    def log_episodes(self, count: int) -> None:
        now = datetime.now(UTC)
        for _ in range(min(count, MAX_EPISODES_PER_PHONE - len(self.created_here))):
            episode_id = uuid.uuid4().hex[:16]
            started = now - timedelta(minutes=self.rng.randint(60, 60 * 24 * 60))
            self.local[episode_id] = raw_episode(episode_id, self.child_id, started, self.rng)
            self.pending[episode_id] = "created"
            self.created_here.add(episode_id)
            self.stats.episodes += 1

    def edit_one(self) -> None:
        """Correct one of the child's latest synced entries, whichever caregiver logged it."""
        pool = list(itertools.islice((i for i in reversed(self.local) if i not in self.pending), RECENT))
        if not pool:
            return
        episode_id = self.rng.choice(pool)
        now_ms = int(time.time() * 1000)
        self.local[episode_id] = {**self.local[episode_id], "notes": f"edited on {self.device_id} at {now_ms}",
                                  "duration_seconds": self.rng.randint(5, 120), "updated_at": now_ms}
        self.pending.setdefault(episode_id, "updated")
        self.stats.edits += 1

    # -- the wire --

    def call(self, method: str, path: str, body: bytes | None, latencies: list[float]) -> tuple[int, dict]:
        """(status, JSON body); status 0 for a connection error."""
        started = time.perf_counter()
        try:
            status, raw = self.conn.request(method, path, body, self.headers)
        except (OSError, http.client.HTTPException):
            self.stats.connection_errors += 1
            return 0, {}
        latencies.append(time.perf_counter() - started)
        self.stats.statuses[status] += 1
        return status, json.loads(raw) if raw else {}

    def pull(self) -> bool:
        last = "null" if self.last_pulled_at is None else self.last_pulled_at
        status, body = self.call("GET", f"/api/v1/sync?last_pulled_at={last}&schema_version=1&migration=null"
                                        f"&device_id={self.device_id}", None, self.stats.pull_latencies)
        self.stats.pulls += 1
        if status != 200:
            return False
        self.apply(body["changes"])
        self.last_pulled_at = body["timestamp"]
        return True

    def apply(self, changes: dict) -> None:
        """Merge a pull into the local store; local changes not yet pushed win."""
        self.check_shape(changes)
        episodes = changes["episodes"]
        for kind in ("created", "updated"):
            for raw in episodes[kind]:
                known = raw["id"] in self.local
                if known == (kind == "created"):
                    self.stats.anomalies.append(f"{self.device_id}: {kind} for {raw['id']} (held: {known})")
                if raw["id"] not in self.pending:
                    self.local[raw["id"]] = raw
        for episode_id in episodes["deleted"]:
            self.local.pop(episode_id, None)

    def check_shape(self, changes: dict) -> None:
        for table in TABLES:
            lists = changes[table]
            ids = [r["id"] for r in lists["created"] + lists["updated"]] + list(lists["deleted"])
            if len(ids) != len(set(ids)):
                self.stats.anomalies.append(f"{self.device_id}: an id twice in {table}")
            if any("_status" in r or "_changed" in r for r in lists["created"] + lists["updated"]):
                self.stats.anomalies.append(f"{self.device_id}: _status or _changed pulled in {table}")

    def push(self) -> int:
        lists = {"created": [], "updated": [], "deleted": []}
        for episode_id, kind in self.pending.items():
            changed = "" if kind == "created" else "notes,duration_seconds,updated_at"
            lists[kind].append({**self.local[episode_id], "_status": kind, "_changed": changed})
        body = {"children": {"created": [], "updated": [], "deleted": []}, "episodes": lists,
                "sleep_sessions": {"created": [], "updated": [], "deleted": []}}
        status, _ = self.call("POST", f"/api/v1/sync?last_pulled_at={self.last_pulled_at}&device_id={self.device_id}",
                              json.dumps(body).encode(), self.stats.push_latencies)
        self.stats.pushes += 1
        if status == 200:
            self.pending.clear()
        return status

    def synchronize(self, apply_time: float = 0.0) -> bool:
        """WatermelonDB's synchronize(): pull, then push; after a 409, pull and push again.

        `apply_time`: the mean pause between pull and push, the phone applying the pull to its
        database and the mobile network's round trip; it widens the window for conflicts and is
        left out of the sync latency.
        """
        started, paused = time.perf_counter(), 0.0
        for _ in range(MAX_ATTEMPTS):
            if not self.pull():
                break
            if apply_time and self.pending:
                pause = self.rng.uniform(0, 2 * apply_time)
                time.sleep(pause)
                paused += pause
            status = self.push() if self.pending else 200
            if status == 200:
                self.stats.syncs += 1
                self.stats.sync_latencies.append(time.perf_counter() - started - paused)
                return True
            if status != 409:
                break
        self.stats.failed_syncs += 1
        return False

    def run(self, deadline: float, think: float, apply_time: float) -> None:
        while time.monotonic() < deadline:
            self.log_episodes(self.rng.randint(1, 3))
            if self.local and self.rng.random() < EDIT_SHARE:
                self.edit_one()
            self.synchronize(apply_time)
            time.sleep(self.rng.uniform(0, 2 * think))


def raw_episode(episode_id: str, child_id: str, started: datetime, rng: random.Random) -> dict:
    now_ms = int(time.time() * 1000)
    return {"id": episode_id, "child_id": child_id, "started_at": int(started.timestamp() * 1000),
            "duration_seconds": rng.randint(5, 90), "timezone": "Europe/Berlin",
            "sleep_state": rng.choice(("asleep", "asleep", "falling_asleep", "waking")),
            "stopped_when_woken": "yes", "side": rng.choice(("left", "right", "both")),
            "body_parts": '["arms","legs"]', "signs": "[]", "triggers": '["fatigue"]',
            "jerk_count": rng.randint(1, 40), "notes": None, "video_ref": None, "logged_by": "",
            "created_at": now_ms, "updated_at": now_ms}


# ---- families --------------------------------------------------------------------------------

def families(port: int, count: int) -> list[Phone]:
    """`count` children, each with two caregivers (owner and invited), each on a phone of their own."""
    setup, phones = Connection(port), []
    for family in range(count):
        owner = sign_up(setup, f"owner{family}-{uuid.uuid4().hex[:6]}@example.org")
        child_id = add_child(setup, owner)
        code = expect(setup.json("POST", f"/api/v1/children/{child_id}/invites", {"role": "caregiver"}, owner),
                      201)["code"]
        partner = sign_up(setup, f"partner{family}-{uuid.uuid4().hex[:6]}@example.org")
        expect(setup.json("POST", f"/api/v1/invites/{code}/accept", None, partner), 200)
        for number, token in enumerate((owner, partner)):
            phones.append(Phone(port, token, f"family{family:03d}-phone{number}", child_id, seed=family * 2 + number))
    progress(f"{count} families, {len(phones)} phones signed up")
    return phones


# ---- the run ---------------------------------------------------------------------------------

def run_phones(phones: list[Phone], seconds: float, think: float, apply_time: float) -> float:
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    threads = [threading.Thread(target=phone.run, args=(deadline, think, apply_time), daemon=True)
               for phone in phones]
    for thread in threads:
        thread.start()
    next_report = started + 5
    while any(thread.is_alive() for thread in threads):
        time.sleep(0.5)
        if time.monotonic() >= next_report:
            next_report += 5
            elapsed, t = time.monotonic() - started, totals(phones)
            progress(f"{elapsed:4.0f} s: {t['syncs']:,} syncs, {t['pushes']:,} pushes, {t['pulls']:,} pulls, "
                     f"{t['episodes']:,} episodes, {t['conflicts']} 409s, {t['server_errors']} 5xx, "
                     f"{t['connection_errors']} connection errors")
    return time.monotonic() - started


def finish(phones: list[Phone]) -> None:
    """Every phone pushes what is pending (concurrently), then every phone pulls once more."""
    threads = [threading.Thread(target=phone.synchronize) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for phone in phones:
        phone.synchronize()
    progress("final pushes and pulls done")


def totals(phones: list[Phone]) -> dict:
    """Sums over the phones; safe to call while they run (each Counter is copied in one C call)."""
    statuses = sum((Counter(dict(phone.stats.statuses)) for phone in phones), Counter())
    count = {name: sum(getattr(phone.stats, name) for phone in phones)
             for name in ("pulls", "pushes", "syncs", "failed_syncs", "episodes", "edits", "connection_errors")}
    return {**count, "conflicts": statuses[409], "server_errors": sum(n for s, n in statuses.items() if s >= 500),
            "other_4xx": sum(n for s, n in statuses.items() if 400 <= s < 500 and s != 409),
            "ok": sum(n for s, n in statuses.items() if 200 <= s < 300),
            "statuses": {str(s): n for s, n in sorted(statuses.items())}}


def latency_ms(phones: list[Phone], name: str) -> dict:
    ordered = sorted(x for phone in phones for x in getattr(phone.stats, name))
    return {f"p{q}": percentile(ordered, q / 100) * 1000 for q in (50, 95, 99)}


# ---- checks ----------------------------------------------------------------------------------

def server_episodes(url: str) -> list[tuple[str, str]]:
    """(id, child_id) of every episode row, read from the database itself."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text("SELECT id, child_id FROM episodes"))]
    finally:
        engine.dispose()


def fresh_pull_ids(phone: Phone) -> set[str]:
    """What a new phone of the same caregiver gets from `last_pulled_at=null`."""
    status, body = phone.call("GET", f"/api/v1/sync?last_pulled_at=null&schema_version=1&migration=null"
                                     f"&device_id={phone.device_id}-fresh", None, [])
    return {raw["id"] for raw in body["changes"]["episodes"]["created"]} if status == 200 else set()


def checks(phones: list[Phone], rows: list[tuple[str, str]]) -> dict:
    t = totals(phones)
    sent = set().union(*(phone.created_here for phone in phones))
    by_child: dict[str, set[str]] = {}
    for episode_id, child_id in rows:
        by_child.setdefault(child_id, set()).add(episode_id)
    stale = [p.device_id for p in phones if set(p.local) != by_child.get(p.child_id, set())]
    fresh = [p.device_id for p in phones if fresh_pull_ids(p) != by_child.get(p.child_id, set())]
    anomalies = [a for phone in phones for a in phone.stats.anomalies]
    for anomaly in anomalies[:10]:
        print(f"anomaly: {anomaly}", file=sys.stderr)
    return {"no 5xx": t["server_errors"] == 0, "no connection errors": t["connection_errors"] == 0,
            "no 4xx but 409": t["other_4xx"] == 0, "nothing left pending": not any(p.pending for p in phones),
            "no protocol anomaly": not anomalies,
            "no duplicate rows": len(rows) == len({episode_id for episode_id, _ in rows}),
            "server holds exactly what phones sent": {episode_id for episode_id, _ in rows} == sent,
            "every phone holds its child's episodes": not stale,
            "a fresh pull gets every episode": not fresh}


# ---- main ------------------------------------------------------------------------------------

def scratch_database() -> tuple[str, str]:
    found = databases()
    if len(found) == 1:
        print("NOTE: PostgreSQL did not answer on 127.0.0.1:5432; this load test runs on SQLite", file=sys.stderr)
    return found[-1]


def load_test(url: str, families_count: int, seconds: float, think: float, apply_time: float) -> dict:
    prepare_database(url)
    with gunicorn(url) as server:
        phones = families(server.port, families_count)
        elapsed = run_phones(phones, seconds, think, apply_time)
        during = totals(phones)
        finish(phones)
        rows = server_episodes(url)
        verdicts = checks(phones, rows)
    t = totals(phones)
    return {"phones": len(phones), "families": families_count, "seconds": elapsed, **t,
            "episodes_on_server": len(rows), "syncs_per_s": during["syncs"] / elapsed,
            "requests_per_s": (during["pulls"] + during["pushes"]) / elapsed,
            "sync_ms": latency_ms(phones, "sync_latencies"), "pull_ms": latency_ms(phones, "pull_latencies"),
            "push_ms": latency_ms(phones, "push_latencies"), "checks": verdicts}


def report(engine: str, r: dict) -> None:
    print(f"\nload test on {engine}: {r['phones']} phones ({r['families']} families), {r['seconds']:.0f} s")
    print(f"  syncs {r['syncs']:,}, pulls {r['pulls']:,}, pushes {r['pushes']:,} (final round included); "
          f"while loaded {r['syncs_per_s']:.1f} syncs/s, {r['requests_per_s']:.1f} requests/s; "
          f"failed syncs {r['failed_syncs']}")
    print(f"  episodes created {r['episodes']:,}, edits {r['edits']:,}, episodes on the server "
          f"{r['episodes_on_server']:,}")
    for name in ("sync_ms", "pull_ms", "push_ms"):
        print(f"  {name[:-3]:<5} latency p50 {r[name]['p50']:7.1f} ms   p95 {r[name]['p95']:7.1f} ms   "
              f"p99 {r[name]['p99']:7.1f} ms")
    print(f"  409s {r['conflicts']}, other 4xx {r['other_4xx']}, 5xx {r['server_errors']}, "
          f"connection errors {r['connection_errors']}; statuses {r['statuses']}")
    for name, ok in r["checks"].items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run of 10 s")
    parser.add_argument("--seconds", type=float, default=None, help="how long the phones sync (60, quick 10)")
    parser.add_argument("--families", type=int, default=25, help="children, two phones each (25: 50 phones)")
    parser.add_argument("--think-ms", type=float, default=250, help="mean pause between a phone's syncs")
    parser.add_argument("--apply-ms", type=float, default=100,
                        help="mean pause between a sync's pull and push (the phone applying, the network)")
    args = parser.parse_args()
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    engine, url = scratch_database()
    print(f"load test: {args.families * 2} phones for {seconds:.0f} s on {engine} ...", file=sys.stderr)
    try:
        result = load_test(url, args.families, seconds, args.think_ms / 1000, args.apply_ms / 1000)
    finally:
        if engine == "postgresql":
            drop_postgres(url)
    report(engine, result)
    print("load average after the run (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("load-quick.json" if args.quick else "load.json")).write_text(json.dumps(
        {"measured_at": datetime.now(UTC).isoformat(), "quick": args.quick, "engine": engine,
         "load_average_after": os.getloadavg(),
         "think_ms": args.think_ms, "apply_ms": args.apply_ms, "results": result}, indent=2))
    if not all(result["checks"].values()):
        print("FAILED: see the checks above", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
