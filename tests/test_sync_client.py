"""The real WatermelonDB client (Node, LokiJS) syncing two phones against the real server.

tests/sync_client/scenarios.js runs the scenarios; this test starts the app on 127.0.0.1 on an
ephemeral port with a fresh database, runs the script, and checks its report and the database.
"""
import json
import os
import shutil
import subprocess
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from backend.children.models import Child
from backend.diary.models import Episode, SleepSession
from backend.extensions import db
from backend.sync.columns import encode_row

CLIENT_DIR = Path(__file__).resolve().parent / "sync_client"
MODELS = {"children": Child, "episodes": Episode, "sleep_sessions": SleepSession}


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the WatermelonDB client cannot run")
    if not (CLIENT_DIR / "node_modules" / "@nozbe" / "watermelondb").is_dir():
        pytest.skip("WatermelonDB is not installed: run `npm ci` in tests/sync_client (make test does)")
    return node


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def report(app, api, live_server, tmp_path):
    node = _node()
    mum, dad = api.register(), api.register()
    child = api.create_child(mum, birth_date=(date.today() - timedelta(days=40)).isoformat())
    api.join(mum, child["id"], dad)
    report_file = tmp_path / "report.json"
    config = {"baseUrl": live_server, "mumToken": mum.token, "dadToken": dad.token, "childId": child["id"]}
    env = {**os.environ, "MYODIARY_SYNC_CONFIG": json.dumps(config), "MYODIARY_SYNC_REPORT": str(report_file)}
    run = subprocess.run([node, "scenarios.js"], cwd=CLIENT_DIR, env=env, capture_output=True,
                         text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    return {entry["name"]: entry for entry in json.loads(report_file.read_text())["scenarios"]}


def _server_rows(app) -> dict:
    with app.app_context():
        return {table: sorted((encode_row(table, row) for row in db.session.scalars(
                    select(model).where(model.deleted_at.is_(None)))), key=lambda r: r["id"])
                for table, model in MODELS.items()}


def _by_id(records: list) -> list:
    return sorted(records, key=lambda record: record["id"])


def test_two_phones_converge_with_the_server_in_every_scenario(app, report):
    expected = ["offline_logging_then_sync", "edit_and_delete_propagate",
                "conflict_then_retry_keeps_both_edits", "lost_reply_then_repeated_push",
                "delete_while_the_other_phone_edits_offline",
                "edit_offline_while_the_other_phone_deletes_later"]
    for name, entry in report.items():
        assert "error" not in entry, f"{name}: {entry.get('error')}"
        assert entry["diagnostics"] == [], f"{name}: the client reported {entry['diagnostics']}"
        for phone_name, phone in entry["phones"].items():
            assert phone["unsynced"] is False, f"{name}: {phone_name} has unsynced changes"
            assert phone["issue_count"] == 0, f"{name}: {phone_name}\n{phone['diagnosis_log']}"
        mum, dad = entry["phones"]["mum"]["records"], entry["phones"]["dad"]["records"]
        for table in MODELS:
            assert _by_id(mum[table]) == _by_id(dad[table]), f"{name}: phones differ in {table}"
    assert list(report) == expected
    final = report[expected[-1]]["phones"]["mum"]["records"]
    server = _server_rows(app)
    for table in MODELS:
        assert _by_id(final[table]) == server[table], f"the server's {table} differ from the phones'"


def test_offline_logs_reach_the_other_phone(report):
    assert report["offline_logging_then_sync"]["result"] == {"dad_episodes": 3}
    assert report["edit_and_delete_propagate"]["result"] == {
        "notes_on_mum": "stopped when we picked her up", "deleted_still_on_mum": False}


def test_a_conflict_is_a_409_and_the_retry_keeps_both_parents_edits(report):
    result = report["conflict_then_retry_keeps_both_edits"]["result"]
    assert "push 409" in result["first_error"]
    assert result["dad_push_statuses"] == [409, 200]
    assert (result["side"], result["jerk_count"]) == ("left", 25)


def test_a_lost_reply_and_the_repeated_push_store_one_record(app, report):
    result = report["lost_reply_then_repeated_push"]["result"]
    assert "reply lost" in result["first_error"] and result["dad_copies"] == 1
    with app.app_context():
        assert len(db.session.scalars(select(Episode).where(Episode.id == result["id"])).all()) == 1


@pytest.mark.parametrize("scenario", ["delete_while_the_other_phone_edits_offline",
                                      "edit_offline_while_the_other_phone_deletes_later"])
def test_a_delete_wins_over_an_offline_edit_everywhere(app, report, scenario):
    result = report[scenario]["result"]
    assert result["on_mum"] is False and result["on_dad"] is False
    with app.app_context():
        assert db.session.get(Episode, result["id"]).deleted_at is not None
