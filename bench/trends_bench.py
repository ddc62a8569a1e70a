"""Trend benchmarks (issues 4, 6 and 20): trends of a two-year child (and of one with 20 treatments and 24
development checks), 500 patients' verdicts at once (API), and the dashboard's patient list page with those 500
patients.

    python bench/trends_bench.py [--quick]

The app runs in-process (WSGI test client) on a fresh SQLite file and, when reachable, a scratch
PostgreSQL database. The 500 patients belong to one clinician's care teams; their summaries are
kept fresh on write, so the list reads verdicts instead of refitting 500 models.
"""
import argparse
import json
import random
import re
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.care_teams.models import Membership  # noqa: E402
from backend.db_types import new_id  # noqa: E402
from backend.diary.models import Episode, SleepSession  # noqa: E402
from backend.diary.simulation import resolving, simulate  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.trends.freshness import refresh  # noqa: E402
from bench.sync_bench import (  # noqa: E402
    RESULTS,
    databases,
    drop_postgres,
    make_app,
    new_child,
    percentiles,
    progress,
    sign_up,
    two_year_child,
)

TARGETS = {"trends_p95_ms": 50, "list_500_ms": 500, "dashboard_list_ms": 500}


TREATMENTS, CHECKS = 20, 24
TREATMENT_EVERY_DAYS, TREATMENT_DAYS = 35, 28


def bench_trends(client, headers, runs: int) -> dict:
    """The default trends (kept with the summary) and a live recomputation (?weeks=103), for a two-year child and
    for one with 20 treatments (15 medicines, each compared before and after) and 24 development checks."""
    figures = child_trends(client, headers, two_year_child(client, headers), runs, "trends")
    treated = two_year_child(client, headers)
    add_treatments_and_checks(client, headers, treated)
    return {**figures, **child_trends(client, headers, treated, runs, "treated_trends")}


def add_treatments_and_checks(client, headers, child_id: str) -> None:
    """A treatment started every 5 weeks (3 medicines in 4, each given for 4 weeks, the last one ongoing) and a
    development check a month over the diary's two years."""
    today = date.today()
    for number in range(TREATMENTS):
        started = today - timedelta(days=700 - TREATMENT_EVERY_DAYS * number)
        medicine = number % 4 != 3
        stopped = None if number == TREATMENTS - 1 else started + timedelta(days=TREATMENT_DAYS)
        response = client.post(f"/api/v1/children/{child_id}/treatments", headers=headers, json={
            "name": f"Medicine {number}" if medicine else f"Routine {number}",
            "kind": "antiseizure_medication" if medicine else "sleep_hygiene", "dose": "1 mg" if medicine else None,
            "started_on": started.isoformat(), "stopped_on": stopped and stopped.isoformat()})
        assert response.status_code == 201, response.json
    for number in range(CHECKS):
        response = client.post(f"/api/v1/children/{child_id}/development-checks", headers=headers, json={
            "checked_on": (today - timedelta(days=700 - 29 * number)).isoformat(), "new_skills": "yes",
            "lost_skills": "no", "concerns": []})
        assert response.status_code == 201, response.json
    progress(f"two-year child: {TREATMENTS} treatments, {CHECKS} development checks")


def child_trends(client, headers, child_id: str, runs: int, prefix: str) -> dict:
    figures = {}
    for name, query in ((prefix, ""), (f"{prefix}_live", "?weeks=103")):
        url = f"/api/v1/children/{child_id}/trends{query}"
        client.get(url, headers=headers)
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            assert client.get(url, headers=headers).status_code == 200
            samples.append(time.perf_counter() - started)
        figures[f"{name}_p50_ms"], figures[f"{name}_p95_ms"] = percentiles(samples)
    return figures


def five_hundred_patients(app, client, count: int) -> dict:
    """`count` children with 10 weeks of diary each, all in one clinician's care teams."""
    owner = sign_up(client, f"owner-{uuid.uuid4().hex[:6]}@example.org")
    clinician_email = f"clinic-{uuid.uuid4().hex[:6]}@example.org"
    client.post("/api/v1/users", json={"email": clinician_email, "password": "bench-password", "name": "Dr",
                                       "role": "clinician"})
    clinician = {"Authorization": "Bearer " + client.post("/api/v1/tokens", json={
        "email": clinician_email, "password": "bench-password"}).json["token"]}
    me = client.get("/api/v1/me", headers=clinician).json["id"]
    owner_id = client.get("/api/v1/me", headers=owner).json["id"]
    ids = [new_child(client, owner, date.today() - timedelta(weeks=14)) for _ in range(count)]
    with app.app_context():
        _fill_diaries(ids, owner_id, me)
    progress(f"{count} patients with 10 weeks of diary each")
    return clinician, clinician_email


def _fill_diaries(ids: list[str], owner_id: str, clinician_id: str) -> None:
    now = datetime.now(UTC)
    first = date.today() - timedelta(weeks=10)
    for index, child_id in enumerate(ids):
        rows = {"episodes": [], "sleep_sessions": []}
        for table, values in simulate(random.Random(index), child_id, "Europe/Berlin", first, 70, resolving(5, 3)):
            rows[table].append({**values, "logged_by": owner_id, "created_at": now, "updated_at": now,
                                "version": 1, "created_version": 1})
        db.session.execute(insert(Episode.__table__), rows["episodes"])
        db.session.execute(insert(SleepSession.__table__), rows["sleep_sessions"])
    db.session.execute(insert(Membership.__table__), [
        {"id": new_id(), "child_id": child_id, "user_id": clinician_id, "role": "clinician", "created_at": now,
         "first_granted_version": 1, "granted_version": 1} for child_id in ids])
    for start in range(0, len(ids), 50):
        refresh(db.session, ids[start:start + 50])
        db.session.commit()
        progress(f"summaries {min(start + 50, len(ids))}/{len(ids)}")


def bench_list(client, clinician, runs: int) -> dict:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/api/v1/children?limit=500", headers=clinician)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200 and all(item["summary"]["verdict"] for item in response.json["items"])
    p50, p95 = percentiles(samples)
    return {"list_500_p50_ms": p50, "list_500_ms": p95}


def bench_dashboard_list(app, email: str, runs: int) -> dict:
    """The dashboard's patient list page (HTML), signed in with a session cookie like a browser."""
    browser = app.test_client()
    form = browser.get("/dashboard/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert browser.post("/dashboard/login", data={"email": email, "password": "bench-password",
                                                  "csrf_token": csrf}).status_code == 302
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = browser.get("/dashboard/")
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200 and response.get_data(as_text=True).count("data-child-id=") >= 50
    p50, p95 = percentiles(samples)
    return {"dashboard_list_p50_ms": p50, "dashboard_list_ms": p95}


def run(quick: bool) -> dict:
    results = {}
    for name, url in databases():
        print(f"benchmarking {name} ...", file=sys.stderr)
        app = make_app(url)
        client = app.test_client()
        figures = bench_trends(client, sign_up(client, f"t-{uuid.uuid4().hex[:6]}@example.org"), 5 if quick else 41)
        clinician, email = five_hundred_patients(app, client, 50 if quick else 500)
        figures.update(bench_list(client, clinician, 3 if quick else 11))
        figures.update(bench_dashboard_list(app, email, 3 if quick else 11))
        results[name] = figures
        with app.app_context():
            db.engine.dispose()
        if name == "postgresql":
            drop_postgres(url)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = run(args.quick)
    print(f"\n{'figure':<28}{'target':>12}" + "".join(f"{name:>14}" for name in results))
    for key, target in (("trends_p50_ms", ""), ("trends_p95_ms", "< 50 ms"), ("trends_live_p50_ms", ""),
                        ("trends_live_p95_ms", "(< 50 ms)"), ("treated_trends_p50_ms", ""),
                        ("treated_trends_p95_ms", "< 50 ms"), ("treated_trends_live_p50_ms", ""),
                        ("treated_trends_live_p95_ms", "(< 50 ms)"), ("list_500_p50_ms", ""),
                        ("list_500_ms", "< 500 ms"), ("dashboard_list_p50_ms", ""),
                        ("dashboard_list_ms", "< 500 ms")):
        print(f"{key:<28}{target:>12}" + "".join(f"{r[key]:>14.1f}" for r in results.values()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("trends-quick.json" if args.quick else "trends.json")).write_text(json.dumps(
        {"measured_at": datetime.now(UTC).isoformat(), "quick": args.quick, "targets": TARGETS, "results": results},
        indent=2))


if __name__ == "__main__":
    main()
