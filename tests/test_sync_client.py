"""The real WatermelonDB client (Node, LokiJS) syncing two phones against the real server.

tests/sync_client/scenarios.js runs the scenarios; this test starts the app on 127.0.0.1 on an
ephemeral port with a fresh database, runs the script, and checks its report and the database.
The script asks (a JSON line on its stdout, answered on its stdin) for what a phone's sync cannot do:
the episode videos' tus uploads and the scheduler's processing, done here with the test client.
Then (issue 20) mum's phone updates to schema version 2 too, and the phones log, edit on both sides and
delete the child's treatments and development checks.
"""
import json
import os
import subprocess
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from backend.children.models import Child
from backend.diary.models import DevelopmentCheck, Episode, SleepSession, Treatment
from backend.extensions import db
from backend.sync.columns import encode_row
from backend.videos.models import EpisodeVideo
from tests.sync_helpers import CLIENT_DIR, node_for_the_client
from tests.test_video_uploads import media_files
from tests.video_clips import make_clip
from tests.video_helpers import process, upload

MODELS = {"children": Child, "episodes": Episode, "sleep_sessions": SleepSession}
V2_MODELS = {"treatments": Treatment, "development_checks": DevelopmentCheck, "episode_videos": EpisodeVideo}
TIMEOUT_SECONDS = 180


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def report(app, api, client, live_server, tmp_path):
    node = node_for_the_client()
    mum, dad = api.register(), api.register()
    # 10 weeks old: two of the monthly development checks are due
    child = api.create_child(mum, birth_date=(date.today() - timedelta(days=70)).isoformat())
    api.join(mum, child["id"], dad)
    report_file = tmp_path / "report.json"
    config = {"baseUrl": live_server, "mumToken": mum.token, "dadToken": dad.token, "childId": child["id"],
              "birthDate": child["birth_date"]}
    env = {**os.environ, "MYODIARY_SYNC_CONFIG": json.dumps(config), "MYODIARY_SYNC_REPORT": str(report_file)}
    clip = Path(make_clip(tmp_path / "clip.mp4", seconds=1.0)).read_bytes()

    def answer(request: dict) -> dict:
        assert request["ask"] == "upload_videos", request
        for video_id in request["video_ids"]:  # mum films the episode and uploads it from her phone
            upload(client, mum, request["episode_id"], clip, video_id=video_id)
        process(app)
        return {video_id: video_status(app, video_id) for video_id in request["video_ids"]}

    returncode, output = _converse(node, env, answer, tmp_path / "stderr.txt")
    assert returncode == 0, output
    return {entry["name"]: entry for entry in json.loads(report_file.read_text())["scenarios"]}


def _converse(node: str, env: dict, answer, stderr_path: Path) -> tuple[int, str]:
    """Run scenarios.js, answering each `ASK {json}` line it prints with one JSON line; (exit code, output)."""
    printed = []
    with open(stderr_path, "w+") as stderr, subprocess.Popen(
            [node, "scenarios.js"], cwd=CLIENT_DIR, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=stderr, text=True) as script:
        watchdog = threading.Timer(TIMEOUT_SECONDS, script.kill)
        watchdog.start()
        try:
            for line in script.stdout:
                if line.startswith("ASK "):
                    script.stdin.write(json.dumps(answer(json.loads(line[4:]))) + "\n")
                    script.stdin.flush()
                else:
                    printed.append(line)
        except BaseException:
            script.kill()  # the answer failed: the script would wait for it forever
            raise
        finally:
            watchdog.cancel()
        returncode = script.wait()
        stderr.seek(0)
        return returncode, "".join(printed) + stderr.read()


def video_status(app, video_id: str) -> str:
    with app.app_context():
        return db.session.get(EpisodeVideo, video_id).status


def _server_rows(app) -> dict:
    with app.app_context():
        return {table: sorted((encode_row(table, row) for row in db.session.scalars(
                    select(model).where(model.deleted_at.is_(None)))), key=lambda r: r["id"])
                for table, model in {**MODELS, **V2_MODELS}.items()}


def _by_id(records: list) -> list:
    return sorted(records, key=lambda record: record["id"])


def test_two_phones_converge_with_the_server_in_every_scenario(app, report):
    expected = ["offline_logging_then_sync", "edit_and_delete_propagate",
                "conflict_then_retry_keeps_both_edits", "lost_reply_then_repeated_push",
                "delete_while_the_other_phone_edits_offline",
                "edit_offline_while_the_other_phone_deletes_later",
                "a_phone_updated_to_version_2_gets_the_videos_uploaded_before", "a_phone_deletes_a_video",
                "a_treatment_edited_on_two_phones_keeps_both_edits",
                "a_treatment_deleted_on_one_phone_is_deleted_on_the_other"]
    for name, entry in report.items():
        assert "error" not in entry, f"{name}: {entry.get('error')}"
        assert entry["diagnostics"] == [], f"{name}: the client reported {entry['diagnostics']}"
        for phone_name, phone in entry["phones"].items():
            assert phone["unsynced"] is False, f"{name}: {phone_name} has unsynced changes"
            assert phone["issue_count"] == 0, f"{name}: {phone_name}\n{phone['diagnosis_log']}"
        mum, dad = entry["phones"]["mum"]["records"], entry["phones"]["dad"]["records"]
        for table in set(mum) & set(dad):  # the tables of both phones' schema versions
            assert _by_id(mum[table]) == _by_id(dad[table]), f"{name}: phones differ in {table}"
    assert list(report) == expected
    videos_only = report["a_phone_deletes_a_video"]["phones"]
    assert set(videos_only["mum"]["records"]) == set(MODELS)  # mum's phone was still on version 1 then
    assert set(videos_only["dad"]["records"]) == {*MODELS, *V2_MODELS}
    assert videos_only["dad"]["records"]["treatments"] == videos_only["dad"]["records"]["development_checks"] == []
    final = report[expected[-1]]["phones"]
    server = _server_rows(app)
    assert server["treatments"] and server["development_checks"]
    for phone_name, phone in final.items():  # both phones on version 2 by now
        assert set(phone["records"]) == {*MODELS, *V2_MODELS}
        for table in {**MODELS, **V2_MODELS}:
            assert _by_id(phone["records"][table]) == server[table], f"the server's {table} differ from {phone_name}'s"


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


def test_a_phone_updated_to_version_2_gets_by_its_migration_sync_the_videos_uploaded_before(report):
    result = report["a_phone_updated_to_version_2_gets_the_videos_uploaded_before"]["result"]
    assert result["uploaded"] == {"clipkept": "ready", "clipgone": "ready"}
    assert result["v1_tables"] == result["mum_tables"] == sorted(MODELS)  # version 1 never hears of videos
    before, after = result["before_upgrade"], result["after_upgrade"]  # the migration keeps the phone's data
    assert after == {**before, "videos": 0} and before["episodes"] > 0 and before["unsynced"] is False
    assert result["migration"] == {"from": 1, "tables": ["treatments", "development_checks", "episode_videos"],
                                   "columns": []}
    assert result["v2_tables"] == sorted([*MODELS, "treatments", "development_checks", "episode_videos"])
    assert result["videos"] == [{"id": video_id, "episode_id": result["episode_id"], "status": "ready"}
                                for video_id in ("clipgone", "clipkept")]


def test_a_video_deleted_on_a_phone_is_deleted_on_the_server_with_its_files(app, report):
    result = report["a_phone_deletes_a_video"]["result"]
    assert result == {"on_dad": ["clipkept"], "push_status": 200}
    with app.app_context():
        assert db.session.get(EpisodeVideo, "clipgone").deleted_at is not None
        assert db.session.get(EpisodeVideo, "clipkept").deleted_at is None
    assert {path.name for path in media_files(app) if "clipkept" in path.parts} == {"video.mp4", "poster.jpg"}
    assert not [path for path in media_files(app) if "clipgone" in path.parts]


def test_a_treatment_edited_offline_on_two_phones_is_a_409_then_both_edits_everywhere(app, report):
    result = report["a_treatment_edited_on_two_phones_keeps_both_edits"]["result"]
    assert result["pulled"] == {"treatment": True, "checks": result["checks"]}  # dad's logs reached mum's phone
    assert "push 409" in result["first_error"]
    assert result["dad_push_statuses"] == [409, 200]
    both_edits = {"stopped_on": result["stopped_on"], "dose": "3 mg/kg/day"}
    assert result["on_mum"] == result["on_dad"] == both_edits
    with app.app_context():
        treatment = db.session.get(Treatment, result["id"])
        assert (treatment.name, treatment.kind) == ("phenobarbital", "antiseizure_medication")
        assert {"stopped_on": treatment.stopped_on.isoformat(), "dose": treatment.dose} == both_edits
        assert treatment.deleted_at is None
        birth_date = db.session.get(Child, treatment.child_id).birth_date
        checks = db.session.scalars(select(DevelopmentCheck).where(DevelopmentCheck.id.in_(result["checks"]))).all()
        assert sorted((check.checked_on, check.concerns) for check in checks) == [  # at 4 and 8 weeks old
            (birth_date + timedelta(weeks=4), "[]"), (birth_date + timedelta(weeks=8), '["less_smiling"]')]


def test_a_treatment_deleted_on_one_phone_is_deleted_on_the_other_and_the_server(app, report):
    result = report["a_treatment_deleted_on_one_phone_is_deleted_on_the_other"]["result"]
    assert result == {"id": result["id"], "on_dad_before_delete": True, "on_mum": False, "on_dad": False,
                      "push_status": 200}
    with app.app_context():
        assert db.session.get(Treatment, result["id"]).deleted_at is not None
