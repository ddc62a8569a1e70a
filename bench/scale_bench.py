"""The cost curve (issue 23 item 3): what each request and each background pass costs at 200, 2,000 and 20,000
children (about 5 million episodes at the top) on PostgreSQL.

    python bench/scale_bench.py [--sizes 200,2000,20000] [--quick] [--runs 41] [--keep]

For each size a fresh database (myodiary_scale_<size>), migrated, bulk-loaded with COPY (bench/scale_load.py:
children aged 0-24 months with simulated diaries, 500 patients per clinician, half the children with a weekly
reminder, 1,000 of them due now), the measured children's summaries built by the app, then VACUUM ANALYZE. The app
runs in-process (WSGI test client) as in the other benchmarks. Every request figure is the p95 in milliseconds over
`runs` requests after a warm-up; a pass (summaries, reminder dispatch) is timed idle (nothing due: what it costs
whatever the work) and with work (50 stale summaries; min(size, 1,000) due schedules, emails to a local SMTP sink),
and its work figure is per unit of work. Writes bench/results/scale.json and docs/scale_curve.png (other sizes:
bench/results/scale-quick.json and the chart in the temporary directory).
"""
import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend import create_app  # noqa: E402
from backend.accounts.passwords import hash_password  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.reminders.dispatch import dispatch  # noqa: E402
from backend.trends.freshness import refresh, refresh_all_stale  # noqa: E402
from bench.dashboard_bench import signed_in  # noqa: E402
from bench.reminders_bench import smtp_sink  # noqa: E402
from bench.scale_load import PASSWORD, Loader, Population  # noqa: E402
from bench.sync_bench import POSTGRES_URL, RESULTS, BenchConfig, percentiles, progress, raw_episodes  # noqa: E402

SIZES, QUICK_SIZES = (200, 2_000, 20_000), (100, 400)
CHART = Path(__file__).resolve().parent.parent / "docs" / "scale_curve.png"
STALE = 50  # summaries marked stale before a summaries pass with work
MAX_GROWTH = 1.5  # from the smallest size to the largest, per request and per unit of a pass's work
# (figure, what it is); every value is a p95 in ms except where the name says otherwise
FIGURES = (
    ("empty_pull", "GET /sync, nothing new (the family)"),
    ("first_pull", "GET /sync?last_pulled_at=null (the family: 263 episodes, 120 nights)"),
    ("push_500", "POST /sync, 500 new episodes"),
    ("trends_kept", "GET trends, kept with the summary (5,000 episodes)"),
    ("trends_recomputed", "GET trends?weeks=103, recomputed (5,000 episodes)"),
    ("list_api", "GET /children?limit=500 (a clinician's 500 patients)"),
    ("list_dashboard", "dashboard patient list, first page (of 500)"),
    ("patient_page", "dashboard patient page (5,000 episodes)"),
    ("summaries_idle", "summaries pass, nothing stale"),
    ("summaries_per_stale", f"summaries pass with {STALE} stale, per summary"),
    ("dispatch_idle", "reminder dispatch pass, nothing due"),
    ("dispatch_per_due", "reminder dispatch pass, per due schedule (2 emails)"),
)
FULL_LIST = {"list_api", "list_dashboard"}  # compared from the first size with a full list of 500


def database_url(name: str, driver: str = "postgresql+psycopg") -> str:
    return POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", f"{driver}://") + f"/{name}"


def fresh_database(name: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scale_app(url: str, mail_port: int):
    """The app on the scale database, migrated, its reminder emails going to the local sink."""
    from flask_migrate import upgrade

    app = create_app(type("Scale", (BenchConfig,), {"SQLALCHEMY_DATABASE_URI": url, "MAIL_SERVER": "127.0.0.1",
                                                    "MAIL_PORT": mail_port, "MAIL_USE_TLS": False}))
    with app.app_context():
        upgrade()
    return app


# ---- loading ---------------------------------------------------------------------------------------

def load(app, name: str, size: int) -> Population:
    due_at = datetime.now(UTC).replace(second=0, microsecond=0)
    with app.app_context():
        password_hash = hash_password(PASSWORD)
    population = Loader(database_url(name, "postgresql"), size, due_at, password_hash, progress).load()
    build_summaries(app, population)
    with psycopg.connect(database_url(name, "postgresql"), autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        progress(f"VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")
        population.rows["database_mb"] = round(conn.execute(
            "SELECT pg_database_size(current_database())").fetchone()[0] / 2**20)
    return population


def build_summaries(app, population: Population) -> None:
    """The summaries the measurements read, built by the app as the scheduler's refresh would; then what their
    schedules' emails know is theirs (the scheduler's passes before this one have sent their prompts)."""
    started, ids = time.perf_counter(), population.real_summaries
    with app.app_context():
        for start in range(0, len(ids), 50):
            refresh(db.session, ids[start:start + 50])
            db.session.commit()
            if (start // 50) % 5 == 4 or start + 50 >= len(ids):
                progress(f"summaries built {min(start + 50, len(ids)):,}/{len(ids):,} "
                         f"({time.perf_counter() - started:.0f} s)")
        db.session.execute(text("""
            UPDATE reminder_schedules AS s SET known_verdict = c.verdict, known_red_flags = c.red_flag_codes
            FROM child_summaries AS c WHERE c.child_id = s.child_id AND c.child_id = ANY(:ids)"""), {"ids": ids})
        db.session.commit()
    population.rows["child_summaries"] += len(ids)


# ---- measuring -------------------------------------------------------------------------------------

MEDIANS: dict[str, float] = {}  # the p50 of the last size's figures, beside their p95


def timed(call, runs: int, name: str) -> float:
    """p95 ms of `call()` over `runs` calls after one warm-up call (its p50 kept in MEDIANS[name])."""
    call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    MEDIANS[name], p95 = percentiles(samples)
    return p95


def ok(response, status: int = 200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    return response


def bearer(client, email: str) -> dict:
    token = ok(client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}), 201).json["token"]
    return {"Authorization": f"Bearer {token}"}


def measure_sync(client, population: Population, runs: int) -> dict:
    family = bearer(client, population.family_email)
    pull = "/api/v1/sync?last_pulled_at={}&device_id=scalephone"
    first = lambda: ok(client.get(pull.format("null"), headers=family))  # noqa: E731
    last = first().json["timestamp"]
    empty = lambda: ok(client.get(pull.format(last), headers=family))  # noqa: E731
    figures = {"empty_pull": timed(empty, runs * 2, "empty_pull"), "first_pull": timed(first, runs, "first_pull")}

    def push():
        body = {name: {"created": [], "updated": [], "deleted": []} for name in ("children", "sleep_sessions")}
        body["episodes"] = {"created": raw_episodes(population.family_child, 500), "updated": [], "deleted": []}
        ok(client.post(f"/api/v1/sync?last_pulled_at={last}&device_id=scalephone", data=json.dumps(body),
                       headers=family))
    figures["push_500"] = timed(push, runs, "push_500")
    return figures


def measure_reads(app, client, population: Population, runs: int) -> dict:
    owner, clinician = bearer(client, population.big_email), bearer(client, population.clinician_email)
    trends = f"/api/v1/children/{population.big_child}/trends"
    figures = {"trends_kept": timed(lambda: ok(client.get(trends, headers=owner)), runs, "trends_kept"),
               "trends_recomputed": timed(lambda: ok(client.get(trends + "?weeks=103", headers=owner)), runs,
                                          "trends_recomputed")}

    def api_list():
        items = ok(client.get("/api/v1/children?limit=500", headers=clinician)).json["items"]
        assert len(items) == population.list_patients, len(items)
    figures["list_api"] = timed(api_list, runs, "list_api")
    browser = signed_in(app, population.clinician_email)
    figures["list_dashboard"] = timed(lambda: ok(browser.get("/dashboard/")), runs, "list_dashboard")
    page = f"/dashboard/children/{population.big_child}"
    figures["patient_page"] = timed(lambda: ok(browser.get(page)), runs, "patient_page")
    return figures


def measure_summaries(app, population: Population, runs: int) -> dict:
    """A pass with nothing stale (its cost whatever the work), then passes with STALE summaries marked stale."""
    stale = population.real_summaries[:STALE]
    with app.app_context():
        refresh_all_stale(db.session)  # the pushes made the family's stale
        idle = timed(lambda: refresh_all_stale(db.session), runs, "summaries_idle")

        def with_work():
            db.session.execute(text("UPDATE child_summaries SET stale = true WHERE child_id = ANY(:ids)"),
                               {"ids": stale})
            db.session.commit()
            started = time.perf_counter()
            assert refresh_all_stale(db.session) == len(stale)
            return time.perf_counter() - started
        samples = [with_work() for _ in range(max(3, runs // 8))]
    return {"summaries_idle": idle, "summaries_per_stale": percentiles(samples)[1] / len(stale)}


def measure_dispatch(app, population: Population, runs: int, received) -> dict:
    """Idle passes an hour before the due minute (after one that settles what the emails know), then the pass at
    the due minute: every due schedule's two caregivers get their email."""
    with app.app_context():
        before = population.due_at - timedelta(hours=1)
        dispatch(before)
        idle = timed(lambda: dispatch(before), runs, "dispatch_idle")
        already = received.value
        started = time.perf_counter()
        result = dispatch(population.due_at + timedelta(seconds=1))
        elapsed = time.perf_counter() - started
    emails = received.value - already
    assert result.sent == emails >= population.due_schedules, (result, emails)
    progress(f"dispatch: {emails:,} emails for {population.due_schedules:,} due schedules in {elapsed:.1f} s")
    return {"dispatch_idle": idle, "dispatch_per_due": 1000 * elapsed / population.due_schedules,
            "dispatch_due_s": elapsed, "dispatch_emails": emails}


def bench_size(size: int, runs: int, keep: bool) -> dict:
    name = f"myodiary_scale_{size}"
    print(f"size {size:,}: loading {name} ...", file=sys.stderr, flush=True)
    fresh_database(name)
    with smtp_sink() as (port, received):
        app = scale_app(database_url(name), port)
        population = load(app, name, size)
        progress(f"loaded in {population.load_seconds:.0f} s: {population.rows}")
        client = app.test_client()
        figures = measure_sync(client, population, runs)
        figures.update(measure_reads(app, client, population, runs))
        figures.update(measure_summaries(app, population, runs))
        figures.update(measure_dispatch(app, population, max(5, runs // 4), received))
        with app.app_context():
            db.engine.dispose()
    if not keep:
        drop_database(name)
    progress(", ".join(f"{key} {value:.1f}" for key, value in figures.items()))
    return {"rows": population.rows, "list_patients": population.list_patients, "p50": dict(MEDIANS),
            "due_schedules": population.due_schedules, "schedules": population.schedules,
            "load_seconds": round(population.load_seconds), "figures": figures}


# ---- reporting -------------------------------------------------------------------------------------

def growth(results: dict) -> dict:
    """Largest size against the smallest; the list figures from the first size with a full list."""
    sizes, ratios = sorted(results), {}
    for key, _ in FIGURES:
        base = next((s for s in sizes if key not in FULL_LIST or results[s]["list_patients"] >= 500), None)
        if base is not None and base != sizes[-1]:
            ratios[key] = {"from": base, "ratio": round(results[sizes[-1]]["figures"][key]
                                                        / results[base]["figures"][key], 2)}
    return ratios


def print_table(results: dict, ratios: dict) -> None:
    sizes = sorted(results)
    print(f"\n{'p95 ms':<22}" + "".join(f"{size:>10,}" for size in sizes)
          + f"{'growth':>10}  (target <= {MAX_GROWTH}x)")
    for key, _ in FIGURES:
        ratio = ratios.get(key)
        mark = "" if ratio is None else f"{ratio['ratio']:>9.2f}x" + (" !" if ratio["ratio"] > MAX_GROWTH else "")
        print(f"{key:<22}" + "".join(f"{results[s]['figures'][key]:>10.1f}" for s in sizes) + f"{mark:>11}"
              + "   p50: " + " / ".join(f"{results[s]['p50'].get(key, float('nan')):.1f}" for s in sizes))
    for key in ("episodes", "sleep_sessions", "reminders", "database_mb"):
        print(f"{key:<22}" + "".join(f"{results[s]['rows'][key]:>10,}" for s in sizes))


def draw_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401 (matplotlib.ticker below)

    sizes = sorted(results)
    figure, axes = plt.subplots(figsize=(13, 6.5), dpi=100)
    colours, styles = plt.get_cmap("tab20").colors, ("-", "--", "-.")
    for index, (key, label) in enumerate(FIGURES):
        axes.plot(sizes, [results[s]["figures"][key] for s in sizes], marker="os^D"[index % 4],
                  linestyle=styles[index % 3], color=colours[(2 * index) % 20 + index // 10], label=f"{key}: {label}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(sizes, [f"{size:,}" for size in sizes])
    axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axes.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(  # 2, 3 and 5 of each decade
        lambda value, _: f"{value:g}" if f"{value:.0e}"[0] in "235" else ""))
    axes.tick_params(axis="y", which="minor", labelsize=7)
    axes.set_xlabel("children in the database (about 250 episodes each)")
    axes.set_ylabel("p95, ms (a pass with work: per unit of work)")
    axes.set_title("Cost against size, PostgreSQL (bench/scale_bench.py)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def chart_from(results_file: Path, path: Path) -> None:
    """The chart again from a results file (--chart-only)."""
    saved = json.loads(results_file.read_text())["results"]
    draw_chart({int(size): result for size, result in saved.items()}, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="children per database, e.g. 200,2000 (default 200,2000,20000)")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} and 11 runs: a smoke run")
    parser.add_argument("--runs", type=int, help="requests per figure (default 41, quick 11)")
    parser.add_argument("--keep", action="store_true", help="keep the myodiary_scale_<size> databases")
    parser.add_argument("--chart-only", action="store_true", help="draw the chart again from bench/results/scale.json")
    args = parser.parse_args()
    if args.chart_only:
        return chart_from(RESULTS / "scale.json", CHART)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else SIZES)
    runs = args.runs or (11 if args.quick else 41)
    results = {size: bench_size(size, runs, args.keep) for size in sorted(sizes)}
    ratios = growth(results)
    print_table(results, ratios)
    RESULTS.mkdir(exist_ok=True)
    partial = args.quick or sorted(sizes) != list(SIZES)
    (RESULTS / ("scale-quick.json" if partial else "scale.json")).write_text(json.dumps(
        {"measured_at": datetime.now(UTC).isoformat(), "database": "postgresql", "runs": runs, "sizes": sorted(sizes),
         "max_growth": MAX_GROWTH, "figures": dict(FIGURES), "growth": ratios,
         "results": {str(size): result for size, result in results.items()}}, indent=2))
    draw_chart(results, Path(tempfile.gettempdir()) / "scale_curve-quick.png" if partial else CHART)


if __name__ == "__main__":
    main()
