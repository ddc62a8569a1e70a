"""Where one request's CPU goes under gunicorn: py-spy samples the workers while the HTTP bench's
client drives one endpoint, and each sample is put in the layer of the request's work it was taken in.

    python bench/profile_http.py [--endpoint episode|floor|empty] [--database sqlite|postgresql]
                                 [--seconds 15] [--connections 8]

The server, the data and the client are the HTTP bench's (bench/http_bench.py). py-spy (a `dev`
extra) records gunicorn's workers from outside the process, at 250 samples/s; it needs the right to
trace them (root, or ptrace_scope 0 on Linux; sudo on macOS). A sample goes to the deepest layer
found in its stack (LAYERS). A layer's share of the samples taken on the CPU, times the server's CPU
per request in the same round (bench/cpu.py, Linux), gives its milliseconds per request. py-spy
counts a worker waiting for PostgreSQL's reply inside psycopg as running, so those samples are a
layer of their own and not CPU. The raw stacks are kept; speedscope.app or flamegraph.pl draw them.
"""
import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.http_bench import drive, endpoint_makers, gunicorn, prepare_database  # noqa: E402
from bench.sync_bench import databases, drop_postgres, progress  # noqa: E402

PY_SPY = ROOT / ".venv" / "bin" / "py-spy"
GUNICORN_LAYER = "gunicorn: accept, read, write, close"
WAITING = "waiting for PostgreSQL's replies"
# (function as py-spy names it, layer); a sample goes to the deepest of these in its stack
LAYERS = [
    ("SyncWorker.handle", GUNICORN_LAYER),
    ("Flask.__call__", "Flask and Werkzeug: request, response, hooks"),
    ("Parser.use_args.<locals>.decorator.<locals>.wrapper", "flask-smorest: wrappers, response dump"),
    ("Parser.parse", "webargs: JSON body, marshmallow load"),
    ("authenticate", "bearer token lookup"),
    ("child_for", "membership lookup"),
    ("register.<locals>.create", "view: build the entry"),
    ("Session.commit", "commit: stale mark, COMMIT"),
    ("Session.flush", "ORM flush: INSERT"),
    ("_stamp_versions", "ORM flush: claim the sync version"),
    ("floor_episode", "floor write (Core)"),
    ("Connection.wait", WAITING),  # psycopg waiting for a reply: py-spy sees a running thread
]
OUTSIDE = "outside a request (worker loop, master)"


def layer_of(stack: str) -> str:
    functions = [frame.split(" (", 1)[0] for frame in stack.split(";")]
    found = OUTSIDE
    for function in functions:
        found = next((layer for name, layer in LAYERS if function == name), found)
    return found


def layer_shares(raw: Path) -> Counter:
    """Samples per layer in py-spy's raw output (one `frame;frame;... count` line per stack)."""
    samples: Counter = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples[layer_of(stack)] += int(count)
    return samples


def profile(url: str, endpoint: str, seconds: float, connections: int, raw: Path) -> tuple[Counter, dict]:
    prepare_database(url)
    with gunicorn(url) as server:
        makers = endpoint_makers(server, connections)[endpoint]
        drive(server, makers, 2)  # warm up: every worker has served the route
        progress(f"py-spy records the workers for {seconds:.0f} s while the client drives {endpoint}")
        spy = subprocess.Popen([str(PY_SPY), "record", "--pid", str(server.pid), "--subprocesses", "--format", "raw",
                                "--rate", "250", "--duration", str(round(seconds)), "--output", str(raw)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        figures, _ = drive(server, makers, seconds)
        if spy.wait() != 0:
            raise RuntimeError(f"py-spy failed (it needs the right to trace gunicorn): {spy.stderr.read()}")
    return layer_shares(raw), figures


def report(samples: Counter, figures: dict, raw: Path) -> None:
    """Each layer's share of the samples; its milliseconds of server CPU per request are its share of
    the samples taken on the CPU (all but the waits for PostgreSQL) times the CPU one request cost."""
    total, per_request = sum(samples.values()), figures.get("server_cpu_ms")
    on_cpu = total - samples[WAITING]
    print(f"\n{figures['rps']:,.0f} requests/s; server CPU per request: "
          + (f"{per_request:.2f} ms" if per_request else "not measured (no /proc)"))
    print(f"{'layer':<46}{'samples':>8}{'CPU ms/request':>16}")
    for layer, count in samples.most_common():
        cpu_ms = "" if layer == WAITING or not per_request else f"{count / on_cpu * per_request:>16.2f}"
        print(f"{layer:<46}{count / total:>8.1%}{cpu_ms}")
    print(f"raw stacks ({total:,} samples): {raw}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", choices=("episode", "floor", "empty"), default="episode")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    found = dict(databases())
    try:
        if args.database not in found:
            sys.exit(f"{args.database} is not reachable")
        raw = Path(tempfile.mkdtemp()) / f"profile-{args.endpoint}-{args.database}.txt"
        samples, figures = profile(found[args.database], args.endpoint, args.seconds, args.connections, raw)
    finally:
        if "postgresql" in found:
            drop_postgres(found["postgresql"])
    report(samples, figures, raw)


if __name__ == "__main__":
    main()
