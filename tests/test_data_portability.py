"""Backup and restore of one family: `flask data export` then `flask data import` into a fresh database,
on SQLite and PostgreSQL (each source against each target), without loss; bad files import nothing."""
import json
from datetime import date, timedelta

import pytest
from flask_migrate import upgrade

from backend import create_app
from backend.diary.simulation import resolving
from backend.extensions import db
from tests import helpers
from tests.helpers import PASSWORD, config_for, episode_body, run_sql, sleep_body
from tests.sync_helpers import Phone, changes, ids, log_course, raw_episode

pytestmark = pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)  # twelve weeks of diary in one push
STAMPS = ("exported_at", "sync_timestamp")  # when it was exported, and that server's counter then


@pytest.fixture
def rich_family(app, api, client, family):
    """Twelve weeks of a resolving course pushed from the owner's phone, a second child, REST entries by the
    second caregiver, a deleted episode, a clinician note with an EEG, the clinician's reads, a reminder
    schedule with an opt-out, and a sent reminder."""
    owner, second, clinician = family["owner"], family["caregiver"], family["clinician"]
    child_id = family["child"]["id"]
    born = (date.today() - timedelta(weeks=16)).isoformat()
    patched = client.patch(f"/api/v1/children/{child_id}", json={"birth_date": born}, headers=owner.headers)
    assert patched.status_code == 200
    log_course(client, owner, child_id, resolving(start=5.0, halving_weeks=3), weeks=12, seed=8)
    noah = api.create_child(owner, name="Noah", birth_date="2026-06-01", gestational_weeks=34.5, sex="male",
                            condition="benign_myoclonus_of_infancy")
    api.join(owner, noah["id"], second)
    client.post(f"/api/v1/children/{noah['id']}/sleep-sessions", json=sleep_body(kind="nap", watched=False),
                headers=second.headers)
    gone = client.post(f"/api/v1/children/{noah['id']}/episodes", json=episode_body(), headers=second.headers).json
    client.delete(f"/api/v1/episodes/{gone['id']}", headers=owner.headers)
    client.post(f"/api/v1/children/{child_id}/notes", json={"text": "EEG: benign variant", "eeg": "benign_variant"},
                headers=clinician.headers)
    week_ago = (date.today() - timedelta(days=7)).isoformat()
    assert client.post(f"/api/v1/children/{child_id}/treatments", headers=owner.headers, json={
        "name": "phenobarbital", "kind": "antiseizure_medication", "dose": "5 mg/kg/day",
        "started_on": week_ago}).status_code == 201
    checked = client.post(f"/api/v1/children/{child_id}/development-checks", headers=second.headers, json={
        "checked_on": week_ago, "new_skills": "yes", "lost_skills": "no", "concerns": ["less_smiling"]})
    assert checked.status_code == 201
    client.get(f"/api/v1/children/{child_id}/trends", headers=clinician.headers)
    client.post(f"/api/v1/children/{child_id}/reminder-schedule/opt-out", headers=second.headers)
    schedule = client.put(f"/api/v1/children/{child_id}/reminder-schedule", json={"enabled": True},
                          headers=owner.headers).json
    sent = app.test_cli_runner().invoke(args=["reminders", "dispatch", "--now", schedule["next_due_at"]])
    assert sent.exit_code == 0 and "sent 1" in sent.output, sent.output
    return {**family, "noah": noah}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_app(request, tmp_path):
    """An app on an empty, migrated database of its own."""
    with helpers.fresh_app(request, request.param, tmp_path) as target:
        yield target


def export(app, email: str, path) -> dict:
    result = app.test_cli_runner().invoke(args=["data", "export", "--email", email, "--out", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text())


def import_file(app, path):
    return app.test_cli_runner().invoke(args=["data", "import", str(path)])


def without_stamps(document: dict) -> dict:
    return {key: value for key, value in document.items() if key not in STAMPS}


def signed_in(app, email: str) -> dict:
    result = app.test_cli_runner().invoke(args=["users", "set-password", email, "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    token = app.test_client().post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).json["token"]
    return {"Authorization": f"Bearer {token}"}


def table_counts(app) -> dict:
    tables = ("users", "children", "memberships", "episodes", "sleep_sessions", "clinician_notes", "reminders",
              "reminder_schedules", "reminder_opt_outs", "access_events")
    return {table: run_sql(app, f"SELECT count(*) FROM {table}").scalar() for table in tables}


def test_export_then_import_into_a_fresh_database_loses_nothing(app, client, rich_family, fresh_app, tmp_path):
    owner, child_id = rich_family["owner"], rich_family["child"]["id"]
    phone = Phone(client, owner, "owners-phone")
    before = phone.pull()
    source = export(app, owner.email, tmp_path / "family.json")
    assert len(source["children"]) == 2 and len(source["children"][0]["episodes"]) > 100
    mila = next(child for child in source["children"] if child["id"] == child_id)
    assert [t["name"] for t in mila["treatments"]] == ["phenobarbital"]
    assert [c["concerns"] for c in mila["development_checks"]] == [["less_smiling"]]

    result = import_file(fresh_app, tmp_path / "family.json")
    assert result.exit_code == 0, result.output
    assert f"Imported {owner.email}" in result.output and "set-password" in result.output

    restored = export(fresh_app, owner.email, tmp_path / "again.json")
    assert without_stamps(restored) == without_stamps(source)
    assert restored["sync_timestamp"] > source["sync_timestamp"]

    headers, target = signed_in(fresh_app, owner.email), fresh_app.test_client()
    for kid in (child_id, rich_family["noah"]["id"]):
        was = client.get(f"/api/v1/children/{kid}/trends", headers=owner.headers).json
        now = target.get(f"/api/v1/children/{kid}/trends", headers=headers).json
        assert (now["verdict"], now["weekly"], now["red_flags"]) == (was["verdict"], was["weekly"], was["red_flags"])
    assert client.get(f"/api/v1/children/{child_id}/trends", headers=owner.headers).json["verdict"] == "resolving"

    new_phone = target.get("/api/v1/sync", headers=headers, query_string={
        "last_pulled_at": "null", "schema_version": 1, "migration": "null", "device_id": "new-phone"}).json["changes"]
    for table in ("children", "episodes", "sleep_sessions"):
        assert ids(new_phone[table], "created") == ids(before[table], "created"), table
    v2 = target.get("/api/v1/sync", headers=headers, query_string={
        "last_pulled_at": "null", "schema_version": 2, "migration": "null", "device_id": "v2-phone"}).json["changes"]
    assert len(v2["treatments"]["created"]) == len(v2["development_checks"]["created"]) == 1

    phone.client, phone.account.headers = target, headers  # the same phone, now talking to the restored server
    after = phone.pull()
    for table in ("children", "episodes", "sleep_sessions"):
        assert after[table]["created"] == [], f"{table}: what the phone has comes back as updated"
        assert ids(after[table], "updated") == ids(before[table], "created"), table
    pushed = phone.push(changes(episodes={"created": [raw_episode("after-restore", child_id)]}))
    assert pushed.status_code == 200, pushed.json


def test_co_carers_and_clinicians_come_back_as_placeholders_that_an_operator_can_hand_over(
        app, rich_family, fresh_app, tmp_path):
    export(app, rich_family["owner"].email, tmp_path / "family.json")
    result = import_file(fresh_app, tmp_path / "family.json")
    second = rich_family["caregiver"]
    placeholder = f"{second.id}@imported.invalid"
    assert placeholder in result.output
    refused = fresh_app.test_client().post("/api/v1/tokens", json={"email": placeholder, "password": "anything"})
    assert refused.status_code == 401
    handed = fresh_app.test_cli_runner().invoke(args=["users", "set-password", placeholder, "--new-email",
                                                      second.email, "--password", PASSWORD])
    assert handed.exit_code == 0, handed.output
    token = fresh_app.test_client().post("/api/v1/tokens", json={"email": second.email, "password": PASSWORD}).json
    children = fresh_app.test_client().get("/api/v1/children", headers={"Authorization": f"Bearer {token['token']}"})
    assert {child["id"] for child in children.json["items"]} == {rich_family["child"]["id"], rich_family["noah"]["id"]}


def test_importing_a_family_that_is_already_there_is_refused_with_nothing_written(app, rich_family, tmp_path):
    export(app, rich_family["owner"].email, tmp_path / "family.json")
    before = table_counts(app)
    result = import_file(app, tmp_path / "family.json")
    assert result.exit_code != 0 and "exists here already" in result.output and "does not merge" in result.output
    assert table_counts(app) == before


def _spoil(document: dict, how: str) -> str:
    child = document["children"][0]
    if how == "not json":
        return "{ this is not JSON"
    if how == "wrong format":
        return json.dumps({**document, "format": "something-else"})
    if how == "version 2":
        return json.dumps({**document, "version": 2})
    if how == "bad episode":
        child["episodes"][3]["sleep_state"] = "dreaming"
        del child["episodes"][5]["started_at"]
    elif how == "text no form takes":
        child["name"] = "Mila\nBcc: spy@evil.example"
        child["episodes"][0]["notes"] = "night\x00time"
        child["episodes"][1]["started_at"] = "0001-01-01T00:00:00+01:00"
    elif how == "unknown user":
        child["episodes"][0]["logged_by"] = "nobody-we-know"
    elif how == "video of no episode":
        child["videos"].append({"id": "clip-9", "episode_id": "not-in-the-file", "uploaded_by": child["owner_id"],
                                "status": "ready", "content_type": "video/mp4", "size_bytes": 1000,
                                "duration_ms": 2000, "width": 320, "height": 240, "created_at": child["created_at"],
                                "updated_at": child["created_at"], "content_url": None, "poster_url": None,
                                "sync": child["sync"]})
    elif how == "duplicate outbox row":  # passes the schema; the database's unique key refuses it at the end
        child["reminders"].append({**child["reminders"][0], "id": "another-id"})
    return json.dumps(document)


@pytest.mark.parametrize("how, says", [
    ("not json", "not JSON"), ("wrong format", "not a Myodiary family document"),
    ("version 2", "this server reads version 1"),
    ("bad episode", "children.0.episodes.3.sleep_state"), ("unknown user", "nobody-we-know"),
    ("text no form takes", "children.0.name"), ("video of no episode", "videos of episodes it does not hold: clip-9"),
    ("duplicate outbox row", "The database refused"),
])
def test_a_bad_file_imports_nothing_and_says_why(app, rich_family, tmp_path, how, says):
    document = export(app, rich_family["owner"].email, tmp_path / "family.json")
    target = create_app(config_for(f"sqlite:///{tmp_path / 'target.sqlite3'}", INSTANCE_DIR=str(tmp_path / "t")))
    with target.app_context():
        upgrade()
    (tmp_path / "spoilt.json").write_text(_spoil(document, how))
    result = import_file(target, tmp_path / "spoilt.json")
    assert result.exit_code != 0
    assert says in result.output, result.output
    if how == "bad episode":
        assert "children.0.episodes.5.started_at" in result.output
    if how == "text no form takes":
        assert "children.0.episodes.0.notes" in result.output and "children.0.episodes.1.started_at" in result.output
    assert set(table_counts(target).values()) == {0}, "nothing half-written"
    with target.app_context():
        db.engine.dispose()


def test_a_document_made_before_videos_still_imports(app, rich_family, fresh_app, tmp_path):
    """Nor treatments and development checks: those parts are simply absent from an older document."""
    document = export(app, rich_family["owner"].email, tmp_path / "family.json")
    assert all(child["videos"] == [] for child in document["children"])
    for child in document["children"]:
        del child["videos"], child["treatments"], child["development_checks"]
    (tmp_path / "older.json").write_text(json.dumps(document))
    result = import_file(fresh_app, tmp_path / "older.json")
    assert result.exit_code == 0, result.output
    assert "not restored" not in result.output


def test_export_names_a_missing_account_clearly(app):
    result = app.test_cli_runner().invoke(args=["data", "export", "--email", "nobody@example.org"])
    assert result.exit_code != 0 and "No account with the email nobody@example.org" in result.output


def test_export_writes_to_stdout_without_out(app, family):
    result = app.test_cli_runner().invoke(args=["data", "export", "--email", family["owner"].email])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["account"]["email"] == family["owner"].email
