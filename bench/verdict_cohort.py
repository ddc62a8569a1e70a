"""The trend verdict on an independent simulated cohort (tests/cohort.py): at least 1,000 children per course.

    .venv/bin/python -m bench.verdict_cohort [--n 1000] [--seed 2026] [--noise harsh|moderate|mild] [--out PATH]

--out defaults to bench/results/verdict_cohort.json (verdict_cohort_<noise>.json for a milder noise than the
cohort's own, tests/cohort.py NOISE).

Progress goes to stderr; the confusion table to stdout; the figures to the JSON file.
"""
import argparse
import json
import sys
import time
from pathlib import Path

from tests.cohort import FALSE_RESOLVING, NOISE, RIGHT, VERDICTS, run

CLEAR = ("resolving", "stable", "worsening")
CORNERS = ("medium_resolving", "medium_stable", "medium_worsening", "short_resolving", "short_stable",
           "short_worsening", "turns_worse", "turns_better", "sparse_month_resolving", "sparse_month_stable",
           "sparse_month_worsening")
NOT_FALLING = ("stable", "worsening", "medium_stable", "medium_worsening", "short_stable", "short_worsening",
               "turns_worse", "sparse_month_stable", "sparse_month_worsening")
FALLING = ("resolving", "medium_resolving", "short_resolving", "sparse_month_resolving")


def table(rows: dict) -> str:
    head = "| course | n | " + " | ".join(VERDICTS) + " |"
    lines = [head, "|" + "---|" * (len(VERDICTS) + 2)]
    for course, found in rows.items():
        n = sum(found.values())
        cells = " | ".join(f"{found.get(v, 0)} ({found.get(v, 0) / n:.1%})" for v in VERDICTS)
        lines.append(f"| {course} | {n} | {cells} |")
    return "\n".join(lines)


def summary(rows: dict) -> dict:
    clear_n = sum(sum(rows[c].values()) for c in CLEAR)
    right = sum(sum(rows[c].get(v, 0) for v in RIGHT[c]) for c in CLEAR)
    present = [c for c in NOT_FALLING if c in rows]
    return {
        "clear_right": right / clear_n,
        "resolving_recall": sum(rows["resolving"].get(v, 0) for v in RIGHT["resolving"])
        / sum(rows["resolving"].values()),
        "stable_right": rows["stable"].get("stable", 0) / sum(rows["stable"].values()),
        "worsening_recall": rows["worsening"].get("worsening", 0) / sum(rows["worsening"].values()),
        "false_resolving": {c: rows[c].get("resolving", 0) for c in present},
        "false_resolved": {c: rows[c].get("resolved", 0) for c in present},
        "false_resolving_total": sum(rows[c].get(v, 0) for c in present for v in FALSE_RESOLVING),
        "false_worsening_on_falling": {c: rows[c].get("worsening", 0) for c in FALLING if c in rows},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--corners", type=int, default=None, help="children per corner case (default: --n)")
    parser.add_argument("--noise", choices=NOISE, default="harsh")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    started = time.perf_counter()

    def progress(course, done, n):
        print(f"  {course}: {done}/{n} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)

    rows = {}
    for course in CLEAR + CORNERS:
        n = args.n if course in CLEAR else (args.corners or args.n)
        rows[course] = run(course, n, args.seed, progress, args.noise)
    figures = summary(rows)
    print(table(rows))
    print(json.dumps(figures, indent=2))
    suffix = "" if args.noise == "harsh" else f"_{args.noise}"
    out = Path(args.out or f"bench/results/verdict_cohort{suffix}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    seconds = round(time.perf_counter() - started, 1)
    out.write_text(json.dumps({"n_per_clear_course": args.n, "seed": args.seed, "noise": args.noise,
                               "seconds": seconds,
                               "confusion": {c: dict(found) for c, found in rows.items()}, "summary": figures},
                              indent=2) + "\n")


if __name__ == "__main__":
    main()
