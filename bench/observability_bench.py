"""What operating it costs (issue 24): POST episode and the empty pull with metrics and JSON logs on, against off.

    python bench/observability_bench.py [--quick] [--connections 8] [--seconds 10] [--rounds 3]

For each database (a fresh SQLite file, and a scratch PostgreSQL database when 127.0.0.1:5432 answers) two gunicorn
servers run side by side on the same database, each with the production settings (`-c python:backend.gunicorn_config`,
one sync worker per core), their output written to a file as a log collector would read it:

- on: METRICS_ENABLED (counters and the latency histogram in multiprocess files) and LOG_FORMAT=json (the app's
  JSON line per request, with request id, route, status, duration and caller);
- off: METRICS_ENABLED=false and text logs (gunicorn's access line per request, as before issue 24).

A closed-loop client in this process (one thread per connection, http.client; gunicorn's sync workers close each
connection, as behind a proxy) drives both in alternating rounds of fixed duration, the order of on and off swapped
every round: `POST /api/v1/children/{id}/episodes` (a new episode per request, one caregiver and child per
connection) and the empty pull (`GET /api/v1/sync` since the caller's last pull, other caregivers than the writers').
Figures are medians over rounds: requests/s and p50/p99 per server, and the cost, 1 - on/off requests/s of each
round's pair, its median (target <= 5%: pairs cancel the machine's slow drift); on Linux also the server's CPU
milliseconds per request (bench/cpu.py) and their ratio, paired the same way, less at the mercy of other load on
the machine than requests/s. Then /metrics is scraped 20 times from the `on` server after the load:
its p50 (the database's gauges are read at scrape time). Every response must be 2xx. Writes
bench/results/observability.json (-quick.json with --quick).
"""
import argparse
import http.client
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.extensions import db  # noqa: E402
from bench import cpu  # noqa: E402
from bench.sync_bench import RESULTS, databases, drop_postgres, make_app, progress  # noqa: E402

GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
TARGET_COST = 0.05
PASSWORD = "bench-password"
MODES = {"on": {"METRICS_ENABLED": "true", "LOG_FORMAT": "json"},
         "off": {"METRICS_ENABLED": "false", "LOG_FORMAT": "text"}}
ENDPOINTS = ("episode", "pull")


# ---- the servers -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(url: str, mode: str, workdir: Path) -> Iterator[tuple[int, int]]:
    """gunicorn with the production settings and this mode's environment on a free port; yields (port, its pid)."""
    port, log_path = free_port(), workdir / f"gunicorn-{mode}.log"
    env = {**os.environ, **MODES[mode], "DATABASE_URL": url, "SECRET_KEY": "bench", "LOG_LEVEL": "INFO",
           "MYODIARY_INSTANCE_DIR": str(workdir / f"instance-{mode}"), "ARGON2_TIME_COST": "1",
           "ARGON2_MEMORY_COST_KIB": "64", "REGISTRATIONS_PER_ADDRESS": "100000 per hour"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each server its own folder (gunicorn_config makes one)
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(GUNICORN), "-c", "python:backend.gunicorn_config", "--workers",
                                    str(os.cpu_count() or 1), "--bind", f"127.0.0.1:{port}", "backend:create_app()"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(port, process, log_path)
        progress(f"gunicorn ({mode}) up on 127.0.0.1:{port}")
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        lines = log_path.read_text(errors="replace").splitlines()
        progress(f"gunicorn ({mode}) wrote {len(lines):,} log lines")


def wait_until_up(port: int, process: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if Connection(port, timeout=5).request("GET", "/healthz")[0] == 200:
                return
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{log_path.read_text()}")


# ---- the client ----------------------------------------------------------------------------------

class Connection:
    def __init__(self, port: int, timeout: float = 60):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        try:
            self.http.request(method, path, body=body, headers=headers or {})
            response = self.http.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.http.close()
            raise

    def json(self, method: str, path: str, body=None, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        status, raw = self.request(method, path, None if body is None else json.dumps(body).encode(), headers)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path}: {status} {raw[:300]!r}")
        return json.loads(raw) if raw else {}


@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict = field(default_factory=dict)


def caregiver_with_child(conn: Connection) -> tuple[str, str]:
    """(token, child id) of a new caregiver."""
    email = f"obs-{uuid.uuid4().hex[:10]}@example.org"
    conn.json("POST", "/api/v1/users", {"email": email, "password": PASSWORD, "name": "Bench", "role": "caregiver"})
    token = conn.json("POST", "/api/v1/tokens", {"email": email, "password": PASSWORD})["token"]
    child = conn.json("POST", "/api/v1/children", {"name": "Bench", "birth_date": (
        date.today() - timedelta(days=90)).isoformat(), "timezone": "Europe/Berlin", "condition": "bnsm"}, token)
    return token, child["id"]


def episode_maker(token: str, child_id: str) -> Callable[[], Request]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = datetime.now(UTC) - timedelta(hours=3)

    def make() -> Request:
        body = {"id": f"o{uuid.uuid4().hex[:20]}", "started_at": started.isoformat(timespec="seconds"),
                "duration_seconds": 45, "timezone": "Europe/Berlin", "sleep_state": "asleep",
                "stopped_when_woken": "yes", "side": "both", "body_parts": ["arms"], "signs": [],
                "triggers": ["fatigue"], "jerk_count": 12, "notes": "Quiet night otherwise"}
        return Request("POST", f"/api/v1/children/{child_id}/episodes", json.dumps(body).encode(), headers)
    return make


def empty_pull_maker(conn: Connection, token: str) -> Callable[[], Request]:
    """A pull since the caller's own last one: nothing changed (nobody writes to this caregiver's child)."""
    query = "schema_version=1&migration=null&device_id=benchphone"
    timestamp = conn.json("GET", f"/api/v1/sync?last_pulled_at=null&{query}", token=token)["timestamp"]
    request = Request("GET", f"/api/v1/sync?last_pulled_at={timestamp}&{query}",
                      headers={"Authorization": f"Bearer {token}"})
    return lambda: request


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    failures: int = 0


def connection_loop(port: int, deadline: float, make: Callable[[], Request], tally: Tally) -> None:
    conn = Connection(port)
    while time.perf_counter() < deadline:
        request = make()
        started = time.perf_counter()
        try:
            status, _ = conn.request(request.method, request.path, request.body, request.headers)
        except (OSError, http.client.HTTPException):
            tally.failures += 1
            time.sleep(0.05)
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.failures += not 200 <= status < 300


def drive(server: tuple[int, int], makers: list[Callable[[], Request]], seconds: float) -> dict:
    """One closed-loop round; requests/s, latency, failures, and the server's CPU milliseconds per request
    (gunicorn's master and workers, SQLite inside them; from /proc, bench/cpu.py)."""
    (port, pid), tallies = server, [Tally() for _ in makers]
    cpu_before = cpu.snapshot(pid)
    started = time.perf_counter()
    threads = [threading.Thread(target=connection_loop, args=(port, started + seconds, make, tally))
               for make, tally in zip(makers, tallies, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    spent = cpu.since(cpu_before, pid)
    latencies = sorted(x for tally in tallies for x in tally.latencies)
    figures = {"rps": len(latencies) / elapsed, "p50_ms": percentile(latencies, 0.50) * 1000,
               "p99_ms": percentile(latencies, 0.99) * 1000, "failures": sum(tally.failures for tally in tallies)}
    if spent and latencies:
        figures["server_cpu_ms"] = spent["server"] / len(latencies) * 1000
    return figures


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def scrape_p50_ms(port: int, scrapes: int = 20) -> float:
    conn, took = Connection(port), []
    for _ in range(scrapes):
        started = time.perf_counter()
        status, _ = conn.request("GET", "/metrics")
        took.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
    return statistics.median(took) * 1000


# ---- one database --------------------------------------------------------------------------------

def makers_for(port: int, connections: int) -> dict[str, list[Callable[[], Request]]]:
    setup = Connection(port)
    writers = [caregiver_with_child(setup) for _ in range(connections)]
    readers = [caregiver_with_child(setup)[0] for _ in range(connections)]
    return {"episode": [episode_maker(token, child) for token, child in writers],
            "pull": [empty_pull_maker(setup, token) for token in readers]}


def bench_database(url: str, connections: int, seconds: float, rounds: int) -> dict:
    app = make_app(url)  # migrated once, before the servers start
    with app.app_context():
        db.engine.dispose()
    workdir = Path(tempfile.mkdtemp(prefix="myodiary-observability-bench-"))
    with gunicorn(url, "on", workdir) as on_server, gunicorn(url, "off", workdir) as off_server:
        servers = {"on": on_server, "off": off_server}
        makers = {mode: makers_for(server[0], connections) for mode, server in servers.items()}
        for mode, server in servers.items():  # every worker has served both routes
            for endpoint in ENDPOINTS:
                drive(server, makers[mode][endpoint], 0.5)
        measured = {(endpoint, mode): [] for endpoint in ENDPOINTS for mode in MODES}
        for number in range(rounds):
            for endpoint in ENDPOINTS:
                for mode in (("on", "off") if number % 2 == 0 else ("off", "on")):
                    measured[endpoint, mode].append(drive(servers[mode], makers[mode][endpoint], seconds))
            progress(f"round {number + 1}/{rounds}: " + ", ".join(
                f"{endpoint} {mode} {measured[endpoint, mode][-1]['rps']:,.0f}/s"
                for endpoint in ENDPOINTS for mode in MODES))
        scrape = scrape_p50_ms(on_server[0])
    return summarize(measured, scrape)


def summarize(measured: dict, scrape_ms: float) -> dict:
    figures = {f"{endpoint}_{mode}_{key}": statistics.median(r[key] for r in runs)
               for (endpoint, mode), runs in measured.items() for key in ("rps", "p50_ms", "p99_ms", "server_cpu_ms")
               if all(key in r for r in runs)}
    for endpoint in ENDPOINTS:  # paired: each round's on against the same round's off, then the median
        pairs = list(zip(measured[endpoint, "on"], measured[endpoint, "off"], strict=True))
        figures[f"{endpoint}_cost"] = statistics.median(1 - on["rps"] / off["rps"] for on, off in pairs)
        if all("server_cpu_ms" in run for pair in pairs for run in pair):
            figures[f"{endpoint}_cpu_cost"] = statistics.median(
                on["server_cpu_ms"] / off["server_cpu_ms"] - 1 for on, off in pairs)
        figures[f"{endpoint}_p50_added_ms"] = figures[f"{endpoint}_on_p50_ms"] - figures[f"{endpoint}_off_p50_ms"]
    figures["scrape_p50_ms"] = scrape_ms
    figures["failures"] = sum(r["failures"] for runs in measured.values() for r in runs)
    figures["rounds"] = {f"{endpoint}_{mode}": runs for (endpoint, mode), runs in measured.items()}
    return figures


def report(results: dict) -> None:
    print(f"\n{'figure':<34}{'target':>10}" + "".join(f"{name:>14}" for name in results))
    rows = [(f"{endpoint}_{figure}", target, fmt) for endpoint in ENDPOINTS for figure, target, fmt in (
        ("off_rps", "", "{:,.0f}"), ("on_rps", "", "{:,.0f}"), ("cost", "<= 5%", "{:.1%}"),
        ("off_p50_ms", "", "{:.1f}"), ("on_p50_ms", "", "{:.1f}"), ("off_server_cpu_ms", "", "{:.2f}"),
        ("on_server_cpu_ms", "", "{:.2f}"), ("cpu_cost", "", "{:.1%}"))]
    for key, target, fmt in [*rows, ("scrape_p50_ms", "", "{:.1f}"), ("failures", "0", "{:d}")]:
        print(f"{key:<34}{target:>10}" + "".join(f"{fmt.format(r[key]) if key in r else '-':>14}"
                                                  for r in results.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: one 2 s round per endpoint and mode")
    parser.add_argument("--connections", type=int, default=8, help="concurrent client connections")
    parser.add_argument("--seconds", type=float, default=None, help="duration of each round (4, quick 2)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per endpoint and mode (10, quick 1)")
    args = parser.parse_args()
    seconds, rounds = args.seconds or (2.0 if args.quick else 4.0), args.rounds or (1 if args.quick else 10)
    results = {}
    for name, url in databases():
        print(f"benchmarking {name}: metrics and JSON logs on against off ...", file=sys.stderr)
        try:
            results[name] = bench_database(url, args.connections, seconds, rounds)
        finally:
            if name == "postgresql":
                drop_postgres(url)
    report(results)
    print("load average after the run (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("observability-quick.json" if args.quick else "observability.json")).write_text(json.dumps(
        {"measured_at": datetime.now(UTC).isoformat(), "quick": args.quick, "workers": os.cpu_count(),
         "connections": args.connections, "seconds_per_round": seconds, "rounds": rounds,
         "load_average_after": os.getloadavg(), "targets": {"cost": TARGET_COST, "failures": 0},
         "results": results}, indent=2))
    if any(r["failures"] for r in results.values()):
        print("FAILED: some requests did not answer 2xx", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
