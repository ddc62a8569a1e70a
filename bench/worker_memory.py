"""Memory per gunicorn worker and the garbage collector's pauses (issue 23, items 4 and 5).

    python bench/worker_memory.py [--quick]

For each database (a fresh SQLite file, and a scratch PostgreSQL database when 127.0.0.1:5432 answers) the
bench migrates it and builds, in-process, a caregiver with a two-year child (about 5,000 episodes) and a
clinician with 500 patients of 10 weeks each (50 with --quick). Then, under the production settings
(`gunicorn -c python:backend.gunicorn_config`, 2 sync workers):

- each worker's RSS and USS (Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup) once it has served a
  health check; after a sync and diary load (4 clients x 25 rounds of a small sync push of 2 episodes, a pull,
  a POST episode and a page of episodes: what `make load` asks of a worker, and the targets' figures); and after
  the same load with a trends call, a chart.png and a report.pdf of a two-year child in every round, with the
  libraries whose compiled parts each worker has mapped (so loaded);
- between the two, the first calls of the trends (kept, then recomputed: ?weeks=103), chart.png and report.pdf in
  workers that have served only sync and diary requests, when the statistics, plotting and PDF libraries are
  imported: three calls each, the slower of the first two reported (either worker may answer first);
- the 500-patient list (`GET /api/v1/children?limit=500`, p50 and p95 of 2 rounds of 40 requests) served by the same
  gunicorn with and without `gc.freeze()` before the fork (`python:bench.worker_memory` is the production
  config without it), in alternating rounds.

Targets: USS < 60 MB and RSS < 150 MB per worker after the sync and diary load; the list's p95 < 150 ms. Prints
the figures and writes bench/results/worker_memory.json (worker_memory-quick.json with --quick).
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.gunicorn_config import *  # noqa: E402,F403 (this module is also the bench's gunicorn config)


def pre_fork(server, worker) -> None:
    """The production config without gc.freeze(): the "without" arm of the collector's figures."""


def post_worker_init(worker) -> None:
    """Nor in the worker."""


GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
TARGETS = {"uss_mb": 60, "rss_mb": 150, "list_500_p95_ms": 150}
CLIENTS, ROUNDS = 4, 25
HEAVY = ("numpy", "scipy", "pandas", "statsmodels", "matplotlib", "PIL", "reportlab", "av")  # compiled parts mapped


def _bench_imports():
    from bench import sync_bench, trends_bench
    return sync_bench, trends_bench


# ---- the server -------------------------------------------------------------------------------------

def start_gunicorn(url: str, instance: Path, port: int, config: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "MYODIARY_INSTANCE_DIR": str(instance), "SECRET_KEY": "bench",
           "LOG_LEVEL": "WARNING", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST_KIB": "64"}
    server = subprocess.Popen([str(GUNICORN), "-c", config, "--workers", "2", "--bind", f"127.0.0.1:{port}",
                               "--access-logfile", "/dev/null", "backend:create_app()"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/healthz")[0] in (200, 204) and len(worker_pids(server.pid)) == 2:
                for _ in range(4):  # both workers have answered once
                    request(port, "GET", "/healthz")
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(port: int, method: str, path: str, headers: dict | None = None, body=None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    payload = json.dumps(body) if body is not None else None
    connection.request(method, path, body=payload, headers={**(headers or {}), "Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def timed(port: int, path: str, headers: dict) -> float:
    started = time.perf_counter()
    status, _ = request(port, "GET", path, headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert status == 200, (path, status)
    return elapsed


# ---- memory -----------------------------------------------------------------------------------------

def worker_pids(master: int) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def memory_mb(pid: int) -> dict:
    """RSS and USS (private clean + private dirty) of one process, MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":")
        fields[name] = int(value.split()[0]) / 1024
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {"rss_mb": fields["Rss"], "uss_mb": fields["Private_Clean"] + fields["Private_Dirty"],
            "pss_mb": fields["Pss"], "libraries": [name for name in HEAVY if f"/site-packages/{name}" in maps]}


def worker_memory(master: int) -> list[dict]:
    return [memory_mb(pid) for pid in sorted(worker_pids(master))]


# ---- the load ---------------------------------------------------------------------------------------

def episode(child_id: str) -> dict:
    return {"id": str(uuid.uuid4()), "started_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
            "duration_seconds": 30, "timezone": "Europe/Berlin", "sleep_state": "asleep",
            "stopped_when_woken": "yes", "side": "both"}


def family_load(port: int, family: dict, results: list, reports: bool) -> None:
    sync_bench, _ = _bench_imports()
    headers, child_id = family["headers"], family["child"]
    child_path, big = f"/api/v1/children/{child_id}", f"/api/v1/children/{family['big']}"
    status, data = request(port, "GET", "/api/v1/sync?last_pulled_at=null&device_id=load", headers)
    last = json.loads(data)["timestamp"]
    for _ in range(ROUNDS):
        body = {name: {"created": [], "updated": [], "deleted": []} for name in ("children", "episodes",
                                                                                  "sleep_sessions")}
        body["episodes"]["created"] = sync_bench.raw_episodes(child_id, 2)
        results.append(request(port, "POST", f"/api/v1/sync?last_pulled_at={last}&device_id=load", headers,
                               body)[0])
        status, data = request(port, "GET", f"/api/v1/sync?last_pulled_at={last}&device_id=load", headers)
        results.append(status)
        last = json.loads(data)["timestamp"]
        results.append(request(port, "POST", f"{child_path}/episodes", headers, episode(child_id))[0])
        results.append(request(port, "GET", f"{child_path}/episodes?limit=50", headers)[0])
        for path in ("trends", "trends/chart.png", "report.pdf") if reports else ():
            results.append(request(port, "GET", f"{big}/{path}", family["big_headers"])[0])


def mixed_load(port: int, families: list[dict], reports: bool) -> dict:
    statuses: list[int] = []
    threads = [threading.Thread(target=family_load, args=(port, family, statuses, reports)) for family in families]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bad = [status for status in statuses if status >= 300]  # every 2xx: the figures are of work done
    assert not bad, bad[:10]
    return {"requests": len(statuses), "seconds": time.perf_counter() - started}


# ---- the run ----------------------------------------------------------------------------------------

def build_data(url: str, patients: int) -> tuple[dict, list[dict], dict]:
    sync_bench, trends_bench = _bench_imports()
    app = sync_bench.make_app(url)
    client = app.test_client()
    big_headers = sync_bench.sign_up(client, f"big-{uuid.uuid4().hex[:6]}@example.org")
    big = sync_bench.two_year_child(client, big_headers)
    assert client.get(f"/api/v1/children/{big}/trends", headers=big_headers).status_code == 200  # kept, as a
    # summaries pass would have kept it
    families = []
    for number in range(CLIENTS):
        headers = sync_bench.sign_up(client, f"load{number}-{uuid.uuid4().hex[:6]}@example.org")
        child = sync_bench.new_child(client, headers, date.today() - timedelta(days=400))  # raw_episodes: 300 days
        families.append({"headers": headers, "child": child, "big": big, "big_headers": big_headers})
    clinician, _ = trends_bench.five_hundred_patients(app, client, patients)
    from backend.extensions import db
    with app.app_context():
        db.engine.dispose()
    return {"big": big, "headers": big_headers}, families, clinician


def bench_database(name: str, url: str, quick: bool) -> dict:
    sync_bench, _ = _bench_imports()
    big, families, clinician = build_data(url, 50 if quick else 500)
    instance = Path(tempfile.mkdtemp(prefix="myodiary-memory-bench-"))
    results: dict = {}
    port = free_port()
    server = start_gunicorn(url, instance, port, "python:backend.gunicorn_config")
    try:
        results["master"] = memory_mb(server.pid)
        results["workers_at_start"] = worker_memory(server.pid)
        sync_bench.progress(f"{name}: sync and diary load, {CLIENTS} clients x {ROUNDS} rounds")
        results["diary_load"] = mixed_load(port, families, reports=False)
        results["workers_after_diary_load"] = worker_memory(server.pid)
        child = f"/api/v1/children/{big['big']}"
        for figure, path in (("trends", "trends"), ("trends_live", "trends?weeks=103"), ("chart", "trends/chart.png"),
                             ("pdf", "report.pdf")):
            calls = [timed(port, f"{child}/{path}", big["headers"]) for _ in range(3)]
            results[f"first_{figure}_calls_ms"] = calls
            results[f"first_{figure}_ms"] = max(calls[:2])  # the first of either worker
        sync_bench.progress(f"{name}: the same with a trends call, a chart and a PDF a round")
        results["report_load"] = mixed_load(port, families, reports=True)
        results["workers_after_reports"] = worker_memory(server.pid)
    finally:
        stop(server)
    for key, phase in (("", "workers_after_diary_load"), ("reports_", "workers_after_reports")):
        results[f"{key}uss_mb"] = max(w["uss_mb"] for w in results[phase])
        results[f"{key}rss_mb"] = max(w["rss_mb"] for w in results[phase])
    results.update(patient_list(port, instance, url, clinician, 10 if quick else 40))
    return results


def patient_list(port: int, instance: Path, url: str, clinician: dict, requests_per_round: int) -> dict:
    """The 500-patient list with and without gc.freeze(), alternating servers, 2 rounds each."""
    sync_bench, _ = _bench_imports()
    samples: dict[str, list[float]] = {"frozen": [], "unfrozen": []}
    for _ in range(2):
        for arm, config in (("frozen", "python:backend.gunicorn_config"), ("unfrozen", "python:bench.worker_memory")):
            sync_bench.progress(f"500-patient list, gc {arm}")
            server = start_gunicorn(url, instance, port, config)
            try:
                for _ in range(4):  # both workers warm
                    timed(port, "/api/v1/children?limit=500", clinician)
                samples[arm] += [timed(port, "/api/v1/children?limit=500", clinician)
                                 for _ in range(requests_per_round)]
            finally:
                stop(server)
    figures = {}
    for arm, found in samples.items():
        ordered = sorted(found)
        prefix = "list_500" if arm == "frozen" else "list_500_unfrozen"
        figures[f"{prefix}_p50_ms"] = statistics.median(ordered)
        figures[f"{prefix}_p95_ms"] = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        figures[f"{prefix}_max_ms"] = ordered[-1]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50 patients instead of 500")
    args = parser.parse_args()
    sync_bench, _ = _bench_imports()
    results = {}
    for name, url in sync_bench.databases():
        try:
            results[name] = bench_database(name, url, args.quick)
            print(f"{name}: {json.dumps(results[name], indent=1)}", file=sys.stderr)
        finally:
            if name == "postgresql":
                sync_bench.drop_postgres(url)
    sync_bench.RESULTS.mkdir(exist_ok=True)
    (sync_bench.RESULTS / ("worker_memory-quick.json" if args.quick else "worker_memory.json")).write_text(
        json.dumps({"quick": args.quick, "targets": TARGETS, "results": results}, indent=2))


if __name__ == "__main__":
    main()
