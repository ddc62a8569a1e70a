"""Fuzzing from the spec: Schemathesis sends generated requests, valid and invalid, to every operation of
the committed api_spec/openapi.yaml and checks each answer against that file: never a 5xx, a status the
operation lists, the documented content type and the documented schema (the Error shape for errors).

The app runs in-process (WSGI) and the requests carry a token: the family's caregiver's or clinician's, or
another family's caregiver's. Path ids are mostly that family's real ones, so requests get past the access
checks into the code behind them; the rest are generated and meet the 404s. Invalid cases also drop the
token, for the 401s.

SQLite gets the full run (1,000 cases and more). PostgreSQL gets a third as many, from another seed:
the HTTP contract is the same code on both, but only PostgreSQL refuses what does not fit a column (a
65-character id was a 500 there and stored as given on SQLite), and two full runs would double what
`make test` waits for. Each database's seed is fixed, so a run is reproducible; the figures go to
test-artifacts/fuzz-summary.json.
"""
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.reminders.tokens import unsubscribe_token
from tests.helpers import episode_body, in_postgres, sleep_body

ROOT = Path(__file__).resolve().parent.parent
# A tus PATCH body (application/offset+octet-stream) is bytes, as application/octet-stream is.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
SPEC_FILE = ROOT / "api_spec" / "openapi.yaml"
SUMMARY_FILE = ROOT / "test-artifacts" / "fuzz-summary.json"
EXAMPLES = {GenerationMode.POSITIVE: 16, GenerationMode.NEGATIVE: 10}  # per operation on SQLite
SHARE = {"sqlite": 1, "postgresql": 3}  # PostgreSQL runs a third of them
SEED = {"sqlite": 8, "postgresql": 9}
MIN_CASES = {"sqlite": 1000, "postgresql": 300}
TIME_LIMIT_SECONDS = 120  # a run takes 15-35 s on a slow 2-core machine
# Rendering charts and PDFs takes a few hundred ms a request; fewer examples keep the run short.
SLOW = {"GET /api/v1/children/{child_id}/report.pdf", "GET /api/v1/children/{child_id}/trends/chart.png",
        "GET /api/v1/children/{child_id}/trends/chart.svg"}
# What the spec cannot say (a known IANA zone, a time between the child's birth and now): in valid cases a
# generated value is replaced by a plausible one three times in four, as path ids are by real ones.
NOW = datetime.now(UTC).replace(microsecond=0)
PLAUSIBLE = {"timezone": ["Europe/Berlin", "America/Sao_Paulo", "UTC"],
             "birth_date": [(NOW - timedelta(days=days)).date().isoformat() for days in (30, 200)],
             "started_at": [(NOW - timedelta(days=3, hours=hours)).isoformat() for hours in (0, 5)],
             "ended_at": [(NOW - timedelta(days=2)).isoformat()]}
# Fuzzed sign-ins fail by the hundred, and 429s would be noise. (Not RATELIMIT_ENABLED=False: the limiter
# is one object, and Flask-Limiter keeps that off for every app made after this one in the process.)
NO_LIMIT = "1000000 per minute"
# Signing out revokes the token the request carries: that operation gets a fresh token every time, so
# it cannot sign the family out of the cases after it.
SIGN_OUT = "DELETE /api/v1/tokens"


def status_code_is_listed(ctx, response, case):
    """Stricter than status_code_conformance, which `default` satisfies: the operation lists the status."""
    listed = set(case.operation.definition.raw["responses"]) - {"default"}
    assert str(response.status_code) in listed, (
        f"{response.status_code} is not among the statuses {case.operation.label} lists: {sorted(listed)}")


CHECKS = [not_a_server_error, status_code_conformance, status_code_is_listed, content_type_conformance,
          response_schema_conformance]


def spec_operations() -> set[str]:
    paths = yaml.safe_load(SPEC_FILE.read_text())["paths"]
    return {f"{method.upper()} {path}" for path, item in paths.items() for method in item if method != "parameters"}


def make_family(app, api) -> dict:
    """A child with its owner and clinician, two episodes, a night, a note, an invite: ids and tokens.

    A caregiver from another family signs some requests too: the real ids must not open to them.
    """
    owner, clinician, stranger = api.register("caregiver"), api.register("clinician"), api.register("caregiver")
    child = api.create_child(owner, birth_date=PLAUSIBLE["birth_date"][-1])["id"]
    api.join(owner, child, clinician)
    base = f"/api/v1/children/{child}"
    episodes = [api.client.post(f"{base}/episodes", json=episode_body(duration_seconds=seconds),
                                headers=owner.headers).json["id"] for seconds in (20, 45)]
    sleep = api.client.post(f"{base}/sleep-sessions", json=sleep_body(), headers=owner.headers).json["id"]
    note = api.client.post(f"{base}/notes", json={"text": "Normal development", "eeg": "normal"},
                           headers=clinician.headers).json["id"]
    with app.app_context():
        unsubscribe = unsubscribe_token(child, owner.id)
    return {"accounts": [owner, owner, clinician, stranger],
            "ids": {"child_id": [child], "episode_id": episodes, "sleep_session_id": [sleep], "note_id": [note],
                    "user_id": [owner.id, clinician.id], "code": [api.invite(owner, child, "caregiver")],
                    "token": [unsubscribe]}}


def fuzz(app, api, operation, mode, family, database, tally) -> None:
    """Run one operation's examples of one mode; the first failing check raises."""
    examples = EXAMPLES[mode] // SHARE[database] // (3 if operation.label in SLOW else 1)

    @seed(SEED[database])
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(max_examples=max(examples, 1), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def run(case, data):
        for name in case.path_parameters or {}:
            if name in family["ids"] and data.draw(st.integers(0, 3)):  # three times in four
                case.path_parameters[name] = data.draw(st.sampled_from(family["ids"][name]))
        if mode is GenerationMode.POSITIVE and isinstance(case.body, dict):
            plausible = {**PLAUSIBLE, **family["ids"]}
            for name in plausible.keys() & case.body.keys():
                if data.draw(st.integers(0, 3)):
                    case.body[name] = data.draw(st.sampled_from(plausible[name]))
        account = data.draw(st.sampled_from(family["accounts"]))
        token = api.sign_in(account.email) if operation.label == SIGN_OUT else account.token
        tally[operation.label] += 1
        case.call_and_validate(app=app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    run()


def negatable(operation) -> bool:
    """Whether there is an input to make invalid: a query, a body or the token (path ids are any text)."""
    return bool(operation.query or operation.body) or operation.definition.raw.get("security") != []


@pytest.mark.config(SIGNIN_FAILURES_PER_ACCOUNT=NO_LIMIT, SIGNIN_FAILURES_PER_ADDRESS=NO_LIMIT)
def test_every_operation_answers_as_the_spec_says(app, api):
    database = "postgresql" if in_postgres(app) else "sqlite"
    schema = schemathesis.openapi.from_path(SPEC_FILE)
    operations = [result.ok() for result in schema.get_all_operations()]
    tally, failures = Counter(), {}
    started = time.monotonic()
    family = make_family(app, api)
    for operation in operations:
        for mode in EXAMPLES:
            if mode is GenerationMode.NEGATIVE and not negatable(operation):
                continue
            try:
                fuzz(app, api, operation, mode, family, database, tally)
            except (Exception, FailureGroup) as error:  # every operation runs; the report names all failures
                failures[f"{operation.label} ({mode.value})"] = error
        if operation.method.upper() == "DELETE":  # it may have taken the child, an entry, a member, the account
            family = make_family(app, api)
    seconds = time.monotonic() - started
    summary = {"operations": len(tally), "cases": sum(tally.values()), "seconds": round(seconds, 1),
               "schemathesis": schemathesis.__version__}
    print(f"\nfuzz on {database}: {summary['operations']} operations, {summary['cases']} cases "
          f"in {summary['seconds']} s (Schemathesis {summary['schemathesis']})")
    record(database, summary)

    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())
    assert set(tally) == spec_operations()
    assert summary["cases"] >= MIN_CASES[database]
    assert seconds < TIME_LIMIT_SECONDS


def record(database: str, summary: dict) -> None:
    """One entry per database in the summary file; the other database's run keeps its own."""
    SUMMARY_FILE.parent.mkdir(exist_ok=True)
    earlier = json.loads(SUMMARY_FILE.read_text()) if SUMMARY_FILE.exists() else {}
    summaries = {name: earlier[name] for name in SHARE if name in earlier} | {database: summary}
    SUMMARY_FILE.write_text(json.dumps(summaries, indent=2, sort_keys=True) + "\n")
