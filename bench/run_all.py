"""Every benchmark, then one table of every target beside its figure (issue 7).

    python bench/run_all.py [--quick]        # make bench / make bench-quick

Runs, each in its own process and each building its own data: bench/sync_bench.py (push, pulls),
bench/trends_bench.py (trends, 500 verdicts, the dashboard list), bench/reminders_bench.py (10,000
reminders to an SMTP sink; 100 with --quick), bench/http_bench.py (POST episode beside a bare
endpoint under gunicorn), bench/video_upload_bench.py (tus uploads through gunicorn against the disk,
10 phones at once, Range), bench/video_processing_bench.py (PyAV remux and HEVC transcode; no
database: its figures stand in the first column), bench/signin_bench.py (what the shared limits
cost), bench/worker_memory.py (gunicorn workers' memory and the 500-patient list with and without
gc.freeze()), bench/dashboard_bench.py (the patient page of a 5,000-episode child, first and late pages;
the 500-patient list), bench/write_concurrency.py (16 families pushing 2-episode syncs at once to PostgreSQL,
in-process and under gunicorn, against the same inserts and commits with no versioning) and
bench/observability_bench.py (POST episode and the empty pull with metrics and JSON logs on and off, two
gunicorn servers in one run). `make bench-scale` (bench/scale_bench.py, the cost curve from 200 to 20,000
children) runs on its own: it loads 5 million episodes. Each writes bench/results/<name>.json; this reads
them back and prints the table with SQLite and PostgreSQL side by side. docs/benchmarks.md explains the method.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BENCHES = ("sync", "trends", "reminders", "http", "video_upload", "video_processing", "signin", "worker_memory",
           "dashboard", "write_concurrency", "observability")
FLAT = {"video_processing"}  # no database: its figures go in the first column

# (bench, key, figure, target text, check: value -> met?)
ROWS = [
    ("sync", "push_episodes_per_s", "push ingest, episodes/s", ">= 10,000 (SQLite)", lambda v: v >= 10_000),
    ("sync", "push_vs_core", "push / Core bulk insert", ">= 0.15", lambda v: v >= 0.15),
    ("sync", "first_pull_p50_ms", "first pull, two-year child, p50 ms", "", None),
    ("sync", "first_pull_p95_ms", "first pull, two-year child, p95 ms", "< 200", lambda v: v < 200),
    ("sync", "empty_pull_p50_ms", "empty pull, p50 ms", "", None),
    ("sync", "empty_pull_p95_ms", "empty pull, p95 ms", "< 10", lambda v: v < 10),
    ("trends", "trends_p50_ms", "trends, two-year child, p50 ms", "", None),
    ("trends", "trends_p95_ms", "trends, two-year child, p95 ms", "< 50", lambda v: v < 50),
    ("trends", "list_500_ms", "500 verdicts (API list), p95 ms", "< 500", lambda v: v < 500),
    ("trends", "dashboard_list_ms", "dashboard list, 500 patients, p95 ms", "< 500", lambda v: v < 500),
    ("reminders", "per_second", "reminders rendered and sent per s", "", None),
    ("reminders", "seconds_for_10000", "10,000 reminders, s", "< 120", lambda v: v < 120),
    ("http", "empty_rps", "bare endpoint, requests/s", "", None),
    ("http", "empty_p99_ms", "bare endpoint, p99 ms", "", None),
    ("http", "episode_rps", "POST episode, requests/s", "", None),
    ("http", "episode_p99_ms", "POST episode, p99 ms", "", None),
    ("http", "ratio", "POST episode / bare endpoint", "", None),  # issue 7's first target, kept as a figure
    ("http", "floor_rps", "floor write (prepared Core), requests/s", "", None),
    ("http", "floor_ratio", "floor write / bare endpoint", "", None),
    # issue 23 item 6: the settled target, against the same server's floor write (no Core path for the REST POST)
    ("http", "episode_vs_floor", "POST episode / floor write", ">= 0.60", lambda v: v >= 0.60),
    ("http", "empty_server_cpu_ms", "bare endpoint, gunicorn CPU ms/request", "", None),
    ("http", "episode_server_cpu_ms", "POST episode, gunicorn CPU ms/request", "", None),
    ("http", "episode_database_cpu_ms", "POST episode, PostgreSQL CPU ms/request", "", None),
    ("video_upload", "disk_mb_s", "disk write, same bytes, MB/s", "", None),
    ("video_upload", "upload_mb_s", "200 MB tus upload via gunicorn, MB/s", "", None),
    ("video_upload", "upload_vs_disk", "upload / disk write", ">= 0.40", lambda v: v >= 0.40),
    ("video_upload", "gunicorn_floor_mb_s", "same PATCHes, do-nothing app, MB/s", "", None),
    ("video_upload", "upload_vs_gunicorn_floor", "upload / do-nothing app", "", None),
    ("video_upload", "rss_growth_mb", "worker RSS growth during it, MB", "< 64", lambda v: v < 64),
    ("video_upload", "phones_5xx", "10 phones x 50 MB at once: 5xx", "0", lambda v: v == 0),
    ("video_upload", "phones_sha256_equal", "10 phones: sha256 equal", "10", lambda v: v == 10),
    ("video_upload", "range_first_byte_p95_ms", "Range first 1 MB, first byte p95 ms", "< 20", lambda v: v < 20),
    ("video_processing", "h264_720p_60s_s", "60 s 720p H.264 remux+poster, s", "< 3", lambda v: v < 3),
    ("video_processing", "hevc_1080p_30s_s", "30 s 1080p HEVC transcode, s", "< 60", lambda v: v < 60),
    ("signin", "failed_memory_p50_ms", "failed sign-in, limits in memory, p50 ms", "", None),
    ("signin", "failed_db_p50_ms", "failed sign-in, limits in the DB, p50 ms", "", None),
    ("signin", "ok_db_p50_ms", "sign-in, limits in the DB, p50 ms", "", None),
    # issue 23 items 4 and 5: gunicorn's workers under the production settings, after a mixed load
    ("worker_memory", "uss_mb", "worker USS after sync+diary load, MB", "< 60", lambda v: v < 60),
    ("worker_memory", "rss_mb", "worker RSS after sync+diary load, MB", "< 150", lambda v: v < 150),
    ("worker_memory", "reports_uss_mb", "worker USS once it drew charts+PDFs, MB", "", None),
    ("worker_memory", "reports_rss_mb", "worker RSS once it drew charts+PDFs, MB", "", None),
    ("worker_memory", "first_trends_ms", "trends (kept), first call after start, ms", "", None),
    ("worker_memory", "first_trends_live_ms", "trends (recomputed), first call, ms", "", None),
    ("worker_memory", "first_chart_ms", "chart.png, first call after start, ms", "", None),
    ("worker_memory", "first_pdf_ms", "report.pdf, first call after start, ms", "", None),
    ("worker_memory", "list_500_p95_ms", "500 patients (API, gunicorn), p95 ms", "< 150", lambda v: v < 150),
    ("worker_memory", "list_500_unfrozen_p95_ms", "the same without gc.freeze(), p95 ms", "", None),
    ("dashboard", "patient_first_p95_ms", "dashboard patient page, 5,000 episodes, p95 ms", "< 150", lambda v: v < 150),
    ("dashboard", "patient_late_p95_ms", "dashboard patient page, a late page, p95 ms", "< 150", lambda v: v < 150),
    ("dashboard", "list_first_p95_ms", "dashboard list, 500 patients, page 1, p95 ms", "< 150", lambda v: v < 150),
    # issue 23 item 2: 16 families pushing 2-episode syncs at once (PostgreSQL), against the same inserts and
    # commits with no versioning; the targets apply to the writers in processes (threads share one GIL)
    ("write_concurrency", "floor_tx_per_s", "16 writers: 2 inserts+commit (floor) tx/s", "", None),
    ("write_concurrency", "floor_versioned_vs_floor", "16 writers: floor+version claim / floor", ">= 0.80",
     lambda v: v >= 0.80),
    ("write_concurrency", "procs_tx_per_s", "16 writers in 4 processes: pushes/s", "", None),
    ("write_concurrency", "procs_p95_ms", "16 writers in 4 processes: push p95 ms", "", None),
    ("write_concurrency", "procs_vs_floor", "16 writers in processes: pushes / floor", "", None),
    ("write_concurrency", "vs_old", "16 writers in processes: pushes new/old", ">= 5", lambda v: v >= 5),
    ("write_concurrency", "procs_lock_share", "16 writers: push time waiting on locks", "", None),
    ("write_concurrency", "inproc_tx_per_s", "16 threads, one process: pushes/s", "", None),
    ("write_concurrency", "inproc_vs_unversioned", "16 threads: pushes / unversioned pushes", "", None),
    ("write_concurrency", "gunicorn_tx_per_s", "16 writers, gunicorn 4 sync: pushes/s", "", None),
    ("write_concurrency", "gunicorn_p95_ms", "16 writers, gunicorn: push p95 ms", "", None),
    ("write_concurrency", "gunicorn_vs_old", "16 writers, gunicorn: pushes new/old", "", None),
    # issue 24: what metrics and JSON logs cost, on against off in one run (1 - on/off requests/s)
    ("observability", "episode_cost", "metrics+JSON logs: POST episode cost", "<= 0.05", lambda v: v <= 0.05),
    ("observability", "pull_cost", "metrics+JSON logs: empty pull cost", "<= 0.05", lambda v: v <= 0.05),
    ("observability", "episode_cpu_cost", "the same, gunicorn CPU per POST episode", "", None),
    ("observability", "pull_cpu_cost", "the same, gunicorn CPU per empty pull", "", None),
    ("observability", "scrape_p50_ms", "a /metrics scrape, p50 ms", "", None),
]


def run(name: str, quick: bool) -> float:
    script = HERE / f"{name}_bench.py"
    command = [sys.executable, str(script if script.exists() else HERE / f"{name}.py")]
    if quick:
        command.append("--quick")
    print(f"\n### {name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def load(name: str, quick: bool) -> dict:
    path = RESULTS / (f"{name}-quick.json" if quick else f"{name}.json")
    results = json.loads(path.read_text())["results"]
    return {"sqlite": results} if name in FLAT else results


def table(results: dict) -> list[str]:
    databases = ("sqlite", "postgresql")
    lines = [f"{'figure':<40}{'target':>20}" + "".join(f"{db:>14}" for db in databases)]
    for bench, key, figure, target, check in ROWS:
        cells = []
        for database in databases:
            value = results.get(bench, {}).get(database, {}).get(key)
            if value is None:
                cells.append(f"{'-':>14}")
                continue
            mark = "" if check is None or (database == "postgresql" and "SQLite" in target) else (
                " ok" if check(value) else " NO")
            cells.append(f"{_number(value) + mark:>14}")
        lines.append(f"{figure:<40}{target:>20}" + "".join(cells))
    return lines


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 1 else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run of every bench")
    parser.add_argument("--only", choices=BENCHES, action="append", help="run only these (repeatable)")
    parser.add_argument("--table", action="store_true", help="print the table of the last results, run nothing")
    args = parser.parse_args()
    names = args.only or BENCHES
    if not args.table:
        for name in names:
            print(f"{name} took {run(name, args.quick):.0f} s", file=sys.stderr)
    results = {}
    for name in BENCHES:
        try:
            results[name] = load(name, args.quick)
        except FileNotFoundError:
            print(f"no results yet for {name}", file=sys.stderr)
    print("\n" + "\n".join(table(results)))


if __name__ == "__main__":
    main()
