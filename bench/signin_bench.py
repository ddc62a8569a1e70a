"""What the shared sign-in limits cost (issue 21): a failed and a successful sign-in with the limits' counters
in memory (one process's own, the old default) and in the app's database (myodiary-db://, shared by every
worker and replica, the default now).

    python bench/signin_bench.py [--quick]

In-process (WSGI test client), on a fresh SQLite file and, when reachable, a scratch PostgreSQL database.
Argon2 runs at the tests' cost (1 pass, 64 KiB), so what is left is the request and the limits; in
production Argon2's own 50-100 ms dwarfs both. The limits are set high enough never to answer 429.
Writes bench/results/signin.json.
"""
import argparse
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend import create_app  # noqa: E402
from backend.extensions import db, limiter  # noqa: E402
from bench.sync_bench import RESULTS, BenchConfig, databases, drop_postgres, percentiles, progress  # noqa: E402

STORAGES = {"memory": "memory://", "db": "myodiary-db://"}
HIGH = "1000000 per minute"
NEVER_LIMITED = {"SIGNIN_FAILURES_PER_ACCOUNT": HIGH, "SIGNIN_FAILURES_PER_ADDRESS": HIGH,
                 "SIGNIN_BRAKE_AFTER": 1_000_000, "REGISTRATIONS_PER_ADDRESS": HIGH}


def make_app(url: str, storage: str):
    from flask_migrate import upgrade

    app = create_app(type("Bound", (BenchConfig,), {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": storage,
                                                    **NEVER_LIMITED}))
    with app.app_context():
        upgrade()
    return app


def sign_ins(client, email: str, password: str, status: int, runs: int) -> list[float]:
    import time

    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.post("/api/v1/tokens", json={"email": email, "password": password})
        samples.append(time.perf_counter() - started)
        assert response.status_code == status, response.json
    return samples


def bench(url: str, runs: int) -> dict:
    figures = {}
    for name, storage in STORAGES.items():
        progress(f"{runs} failed and {runs} successful sign-ins, counters in {storage}")
        app = make_app(url, storage)
        client = app.test_client()
        email = f"signin-{uuid.uuid4().hex[:6]}@example.org"
        created = client.post("/api/v1/users", json={"email": email, "password": "bench password here",
                                                     "name": "B", "role": "caregiver"})
        assert created.status_code == 201, created.json
        failed = percentiles(sign_ins(client, email, "a wrong password", 401, runs))
        succeeded = percentiles(sign_ins(client, email, "bench password here", 201, runs))
        figures.update({f"failed_{name}_p50_ms": failed[0], f"failed_{name}_p95_ms": failed[1],
                        f"ok_{name}_p50_ms": succeeded[0], f"ok_{name}_p95_ms": succeeded[1]})
        if hasattr(limiter.storage, "engine"):
            limiter.storage.engine.dispose()
        with app.app_context():
            db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = {}
    for name, url in databases():
        print(f"benchmarking {name} ...", file=sys.stderr)
        results[name] = bench(url, 30 if args.quick else 300)
        if name == "postgresql":
            drop_postgres(url)
    keys = [f"{outcome}_{storage}_{p}_ms" for outcome in ("failed", "ok") for storage in STORAGES
            for p in ("p50", "p95")]
    print(f"\n{'figure':<24}" + "".join(f"{name:>14}" for name in results))
    for key in keys:
        print(f"{key:<24}" + "".join(f"{r[key]:>14.2f}" for r in results.values()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("signin-quick.json" if args.quick else "signin.json")).write_text(json.dumps(
        {"measured_at": datetime.now(UTC).isoformat(), "quick": args.quick, "targets": {}, "results": results},
        indent=2))


if __name__ == "__main__":
    main()
