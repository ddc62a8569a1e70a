"""Dashboard benchmark (issue 23): the patient page of a two-year child (5,000 episodes) and the patient list of 500
patients, as a signed-in clinician's browser gets them.

    python bench/dashboard_bench.py [--quick]

The app runs in-process (WSGI test client) on a fresh SQLite file and, when reachable, a scratch PostgreSQL
database. The patient page: its first page of episodes, a late one (the last full page of 50, reached through
the pager's "older" links), a filtered one (asleep only, some pages back) and the chart axis switched (a live
report). The list: its first page, its last page, a name search and the red-flags filter. Every figure is p50/p95
in milliseconds over `runs` requests after one warm-up request.
"""
import argparse
import json
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.care_teams.models import Membership  # noqa: E402
from backend.db_types import new_id  # noqa: E402
from backend.extensions import db  # noqa: E402
from bench.sync_bench import (  # noqa: E402
    RESULTS,
    databases,
    drop_postgres,
    make_app,
    percentiles,
    progress,
    sign_up,
    two_year_child,
)
from bench.trends_bench import five_hundred_patients  # noqa: E402

TARGETS = {"patient_first_p95_ms": 150, "patient_late_p95_ms": 150, "list_first_p95_ms": 150}
OLDER_LINK = re.compile(r'<a rel="next" class="older" href="([^"]+)"')
NEXT_LINK = re.compile(r'<a rel="next" class="next" href="([^"]+)"')


def signed_in(app, email: str):
    browser = app.test_client()
    form = browser.get("/dashboard/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert browser.post("/dashboard/login", data={"email": email, "password": "bench-password",
                                                  "csrf_token": csrf}).status_code == 302
    return browser


def clinician_of(app, client, child_id: str) -> str:
    """A clinician in the child's care team (the membership written directly, as trends_bench does); the email."""
    email = f"dr-{uuid.uuid4().hex[:6]}@example.org"
    client.post("/api/v1/users", json={"email": email, "password": "bench-password", "name": "Dr",
                                       "role": "clinician"})
    headers = {"Authorization": "Bearer " + client.post("/api/v1/tokens", json={
        "email": email, "password": "bench-password"}).json["token"]}
    me = client.get("/api/v1/me", headers=headers).json["id"]
    with app.app_context():
        db.session.execute(insert(Membership.__table__), [{
            "id": new_id(), "child_id": child_id, "user_id": me, "role": "clinician",
            "created_at": datetime.now(UTC), "first_granted_version": 1, "granted_version": 1}])
        db.session.commit()
    return email


def timed(browser, url: str, runs: int, check=None) -> tuple[float, float]:
    assert browser.get(url).status_code == 200
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = browser.get(url)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        if check:
            assert check(response.get_data(as_text=True)), url
    return percentiles(samples)


def follow(browser, url: str, pattern: re.Pattern, steps: int | None = None) -> tuple[str, int]:
    """The URL `steps` links on (or the last one), following the pattern's link; and the steps taken."""
    taken = 0
    while steps is None or taken < steps:
        found = pattern.search(browser.get(url).get_data(as_text=True))
        if not found:
            break
        url, taken = unescape(found.group(1)).split("#")[0], taken + 1
    return url, taken


def bench_patient_page(app, client, runs: int) -> dict:
    owner = sign_up(client, f"p-{uuid.uuid4().hex[:6]}@example.org")
    child_id = two_year_child(client, owner)
    browser = signed_in(app, clinician_of(app, client, child_id))
    first = f"/dashboard/children/{child_id}"
    _, pages = follow(browser, first, OLDER_LINK)
    late, _ = follow(browser, first, OLDER_LINK, steps=pages - 1)  # the last full page (the very last is short)
    progress(f"patient page: {pages + 1} pages of episodes")
    filtered, _ = follow(browser, first + "?sleep_state=asleep", OLDER_LINK, steps=pages // 4)
    rows = lambda page: page.count('<tr id="episode-') >= 1  # noqa: E731
    figures = {"episode_pages": pages + 1}
    for name, url in (("patient_first", first), ("patient_late", late), ("patient_filtered", filtered),
                      ("patient_corrected_axis", first + "?age=corrected")):
        figures[f"{name}_p50_ms"], figures[f"{name}_p95_ms"] = timed(browser, url, runs, rows)
    return figures


def bench_patient_list(app, client, count: int, runs: int) -> dict:
    _, email = five_hundred_patients(app, client, count)
    browser = signed_in(app, email)
    last, pages = follow(browser, "/dashboard/", NEXT_LINK)
    rows = lambda page: "data-child-id=" in page  # noqa: E731
    figures = {"list_pages": pages + 1}
    for name, url in (("list_first", "/dashboard/"), ("list_last", last), ("list_search", "/dashboard/?q=ench"),
                      ("list_red_flags", "/dashboard/?filter=red_flags")):
        figures[f"{name}_p50_ms"], figures[f"{name}_p95_ms"] = timed(browser, url, runs,
                                                                     None if name == "list_red_flags" else rows)
    return figures


def run(quick: bool) -> dict:
    results = {}
    for name, url in databases():
        print(f"benchmarking {name} ...", file=sys.stderr)
        app = make_app(url)
        client = app.test_client()
        figures = bench_patient_page(app, client, 5 if quick else 41)
        figures.update(bench_patient_list(app, client, 50 if quick else 500, 5 if quick else 41))
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
    keys = list(next(iter(results.values())))
    print(f"\n{'figure':<32}{'target':>10}" + "".join(f"{name:>14}" for name in results))
    for key in keys:
        target = f"< {TARGETS[key]}" if key in TARGETS else ""
        print(f"{key:<32}{target:>10}" + "".join(f"{r[key]:>14.1f}" for r in results.values()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("dashboard-quick.json" if args.quick else "dashboard.json")).write_text(json.dumps(
        {"measured_at": datetime.now(UTC).isoformat(), "quick": args.quick, "targets": TARGETS, "results": results},
        indent=2))


if __name__ == "__main__":
    main()
