"""Privacy: a family exports all its data, deletes its account, and what was deleted is purged later.

Through the HTTP API as a client sees it, on SQLite and PostgreSQL; the purge through `flask data purge --now`.
"""
from datetime import datetime, timedelta

import pytest

from backend.db_types import utcnow
from tests.helpers import PASSWORD, assert_error, episode_body, run_sql, sleep_body
from tests.sync_helpers import Phone, changes, ids, raw_child, raw_episode

RETENTION_DAYS = 30


def walk_keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_keys(item)


def rows(app, sql: str, **params) -> list:
    return run_sql(app, sql, **params).all()


def count(app, table: str, where: str = "1=1", **params) -> int:
    return run_sql(app, f"SELECT count(*) FROM {table} WHERE {where}", **params).scalar()


def purge(app, days_from_now: float):
    now = (utcnow() + timedelta(days=days_from_now)).isoformat()
    result = app.test_cli_runner().invoke(args=["data", "purge", "--now", now])
    assert result.exit_code == 0, result.output
    return result.output


def delete_me(client, account, password=PASSWORD):
    return client.delete("/api/v1/me", json={"password": password}, headers=account.headers)


@pytest.fixture
def diary(app, client, family):
    """The family's diary as logged through the API: episodes (one deleted), a night, a note with an EEG,
    a schedule with one reminder sent, an opt-out, and the clinician's reads in the access log."""
    child_id, owner, second, clinician = (family["child"]["id"], family["owner"], family["caregiver"],
                                          family["clinician"])
    base = f"/api/v1/children/{child_id}"
    episodes = [client.post(f"{base}/episodes", json=episode_body(**fields), headers=who.headers).json
                for who, fields in ((owner, {}), (second, {"sleep_state": "awake", "signs": ["crying"]}),
                                    (owner, {"started_at": "2026-11-27T23:00:00+01:00", "video_ref": "clip-7"}))]
    assert client.delete(f"/api/v1/episodes/{episodes[2]['id']}", headers=owner.headers).status_code == 204
    night = client.post(f"{base}/sleep-sessions", json=sleep_body(notes="restless"), headers=second.headers).json
    note = client.post(f"{base}/notes", json={"text": "EEG normal, benign", "eeg": "normal"},
                       headers=clinician.headers).json
    assert client.get(f"{base}/episodes", headers=clinician.headers).status_code == 200  # audited
    assert client.post(f"{base}/reminder-schedule/opt-out", headers=second.headers).status_code in (200, 204)
    schedule = client.put(f"{base}/reminder-schedule", json={"cadence": "weekly", "weekday": "sunday",
                                                              "local_time": "19:00", "enabled": True},
                          headers=owner.headers).json
    due = datetime.fromisoformat(schedule["next_due_at"]) + timedelta(minutes=1)
    sent = app.test_cli_runner().invoke(args=["reminders", "dispatch", "--now", due.isoformat()])
    assert sent.exit_code == 0 and "sent 1" in sent.output, sent.output
    return {**family, "episodes": episodes, "night": night, "note": note}


def test_the_export_holds_exactly_what_the_family_logged_and_no_secrets(app, client, diary):
    owner, child_id = diary["owner"], diary["child"]["id"]
    response = client.get("/api/v1/me/export", headers=owner.headers)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="myodiary-family-')
    document, text = response.json, response.get_data(as_text=True)
    assert (document["format"], document["version"]) == ("myodiary-family", 1)
    assert document["account"] == {**document["account"], "id": owner.id, "email": owner.email, "role": "caregiver"}

    [child] = document["children"]
    assert child["id"] == child_id and child["name"] == "Mila" and child["owner_id"] == owner.id
    assert {m["user_id"]: m["role"] for m in child["care_team"]} == {
        owner.id: "owner", diary["caregiver"].id: "caregiver", diary["clinician"].id: "clinician"}
    logged = {e["id"]: e for e in diary["episodes"]}
    assert {e["id"] for e in child["episodes"]} == set(logged)
    for exported in child["episodes"]:
        rest = logged[exported["id"]]
        same = [k for k in rest if k in exported and not (exported["deleted_at"] and k == "updated_at")]
        assert len(same) >= 15 and {k: exported[k] for k in same} == {k: rest[k] for k in same}
    deleted = {e["id"] for e in child["episodes"] if e["deleted_at"]}
    assert deleted == {diary["episodes"][2]["id"]}, "a deleted episode is exported, marked"
    [night] = child["sleep_sessions"]
    assert night["id"] == diary["night"]["id"] and night["notes"] == "restless"
    assert night["logged_by"] == diary["caregiver"].id and night["watched"] is True
    [note] = child["clinician_notes"]
    assert (note["id"], note["text"], note["eeg"], note["author_id"]) == (
        diary["note"]["id"], "EEG normal, benign", "normal", diary["clinician"].id)
    schedule = child["reminder_schedule"]
    assert (schedule["cadence"], schedule["weekday"], schedule["local_time"], schedule["enabled"]) == (
        "weekly", "sunday", "19:00", True)
    assert [o["user_id"] for o in child["reminder_opt_outs"]] == [diary["caregiver"].id]
    assert [(r["user_id"], r["status"]) for r in child["reminders"]] == [(owner.id, "sent")]
    assert child["access_log"] and {e["user_id"] for e in child["access_log"]} == {diary["clinician"].id}
    assert {p["id"]: (p["name"], p["role"]) for p in document["people"]} == {
        diary["caregiver"].id: ("Caregiver 2", "caregiver"), diary["clinician"].id: ("Clinician 3", "clinician")}

    assert not [key for key in walk_keys(document) if "password" in key or "hash" in key or "token" in key]
    hashes = [row[0] for row in rows(app, "SELECT password_hash FROM users")]
    secrets = [owner.token, diary["caregiver"].token, diary["clinician"].token, PASSWORD, *hashes]
    assert not [secret for secret in secrets if secret in text]
    assert diary["caregiver"].email not in text and diary["clinician"].email not in text


def test_each_account_exports_only_its_own_family(api, client, diary):
    second = client.get("/api/v1/me/export", headers=diary["caregiver"].headers).json
    assert [child["id"] for child in second["children"]] == [diary["child"]["id"]]
    assert second["children"][0]["episodes"] and second["children"][0]["access_log"] == [], "the owner's to read"
    clinician = client.get("/api/v1/me/export", headers=diary["clinician"].headers).json
    assert clinician["account"]["id"] == diary["clinician"].id and clinician["children"] == []
    stranger = api.register("caregiver")
    text = client.get("/api/v1/me/export", headers=stranger.headers).get_data(as_text=True)
    assert diary["child"]["id"] not in text and "Mila" not in text
    assert_error(client.get("/api/v1/me/export"), 401)


@pytest.mark.parametrize("body, status", [({"password": "not the password"}, 403), ({}, 422),
                                          ({"password": 12}, 422)])
def test_a_wrong_or_missing_password_deletes_nothing(app, api, client, family, body, status):
    owner = family["owner"]
    assert_error(client.delete("/api/v1/me", json=body, headers=owner.headers), status, field="password")
    assert client.get("/api/v1/me", headers=owner.headers).status_code == 200
    assert client.get(f"/api/v1/children/{family['child']['id']}", headers=owner.headers).status_code == 200
    assert api.sign_in(owner.email)
    assert count(app, "users", "deleted_at IS NOT NULL") == 0
    assert count(app, "memberships", "revoked_at IS NOT NULL") == 0


def test_guessing_the_password_to_delete_an_account_is_throttled(client, family):
    for _ in range(5):
        assert_error(delete_me(client, family["owner"], password="a guess"), 403)
    assert_error(delete_me(client, family["owner"], password="another guess"), 429)
    assert client.get("/api/v1/me", headers=family["owner"].headers).status_code == 200


def test_the_delete_throttle_counts_per_account_however_the_token_is_written_or_renewed(api, client, family):
    owner = family["owner"]
    spellings = [f"Bearer {owner.token}", f"bearer {owner.token}", f"BEARER  {owner.token}", f"Bearer {owner.token} ",
                 f"Bearer {api.sign_in(owner.email)}"]
    for spelling in spellings:
        response = client.delete("/api/v1/me", json={"password": "a guess"}, headers={"Authorization": spelling})
        assert_error(response, 403)
    assert_error(delete_me(client, owner, password="another guess"), 429)
    assert_error(delete_me(client, family["caregiver"], password="a guess"), 403)  # another account: its own count


def test_deleting_an_account(app, api, client, family):
    owner, second, clinician = family["owner"], family["caregiver"], family["clinician"]
    child_id = family["child"]["id"]
    cocared = api.create_child(second, name="Noah")  # the second caregiver's child, co-cared by the owner
    api.join(second, cocared["id"], owner)
    mine = client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(), headers=owner.headers).json
    theirs = client.post(f"/api/v1/children/{cocared['id']}/episodes", json=episode_body(),
                         headers=owner.headers).json
    client.put(f"/api/v1/children/{child_id}/reminder-schedule", json={"enabled": True}, headers=owner.headers)
    for reminder_id, child, user in (("r-owned", child_id, second.id), ("r-mine", cocared["id"], owner.id),
                                     ("r-other", cocared["id"], second.id)):
        run_sql(app, "INSERT INTO reminders (id, child_id, user_id, kind, period_key, due_at, status, attempts, "
                     "next_attempt_at, created_at) VALUES (:id, :child, :user, 'scheduled', :id, :now, 'pending', 0, "
                     ":now, :now)", id=reminder_id, child=child, user=user, now=utcnow() + timedelta(days=1))
    phone = Phone(client, second, "second-phone")
    phone.pull()

    assert delete_me(client, owner).status_code == 204

    assert_error(client.post("/api/v1/tokens", json={"email": owner.email, "password": PASSWORD}), 401)
    assert_error(client.get("/api/v1/me", headers=owner.headers), 401)
    changes = phone.pull()
    assert child_id in changes["children"]["deleted"] and mine["id"] in changes["episodes"]["deleted"]
    assert cocared["id"] not in changes["children"]["deleted"]
    kept = client.get(f"/api/v1/children/{cocared['id']}/episodes", headers=second.headers).json["items"]
    assert [e["id"] for e in kept] == [theirs["id"]], "what the deleted account logged stays with the family"
    members = client.get(f"/api/v1/children/{cocared['id']}/members", headers=second.headers).json["items"]
    assert owner.id not in {m["user_id"] for m in members}
    assert_error(client.get(f"/api/v1/children/{child_id}", headers=clinician.headers), 404)
    statuses = dict(rows(app, "SELECT id, status FROM reminders"))
    assert statuses == {"r-owned": "skipped", "r-mine": "skipped", "r-other": "pending"}
    assert rows(app, "SELECT enabled FROM reminder_schedules WHERE child_id = :c", c=child_id) == [(False,)]
    [(email, name, deleted_at)] = rows(app, "SELECT email, name, deleted_at FROM users WHERE id = :u", u=owner.id)
    assert email != owner.email and name == "Deleted account" and deleted_at is not None
    assert count(app, "tokens", "user_id = :u AND revoked_at IS NULL", u=owner.id) == 0
    assert api.register("caregiver", email=owner.email).email == owner.email, "the address is free again"


def test_the_purge_removes_deleted_data_after_the_retention_period_but_keeps_the_access_log(app, api, client, family):
    owner, second, clinician = family["owner"], family["caregiver"], family["clinician"]
    child_id = family["child"]["id"]
    cocared = api.create_child(second, name="Noah")
    api.join(second, cocared["id"], owner)
    base = f"/api/v1/children/{child_id}"
    episode = client.post(f"{base}/episodes", json=episode_body(), headers=owner.headers).json
    night = client.post(f"{base}/sleep-sessions", json=sleep_body(), headers=second.headers).json
    client.post(f"{base}/notes", json={"text": "seen", "eeg": "not_done"}, headers=clinician.headers)
    client.put(f"{base}/reminder-schedule", json={"enabled": True}, headers=owner.headers)
    client.post(f"{base}/reminder-schedule/opt-out", headers=second.headers)
    assert client.get(f"{base}/trends", headers=clinician.headers).status_code == 200  # a summary, an audit row
    client.post(f"/api/v1/children/{cocared['id']}/episodes", json=episode_body(), headers=owner.headers)
    loner = api.register("caregiver")
    api.create_child(loner, name="Solo")
    asleep, awake = Phone(client, second, "asleep-phone"), Phone(client, second, "awake-phone")
    asleep.pull(), awake.pull()
    assert delete_me(client, owner).status_code == 204 and delete_me(client, loner).status_code == 204
    awake.pull()  # hears of the deletion before the purge
    audited = count(app, "access_events", "child_id = :c", c=child_id)
    assert audited >= 1

    assert purge(app, RETENTION_DAYS - 1).startswith("purged 0 children and 0 accounts")
    assert count(app, "children", "id = :c", c=child_id) == 1
    assert purge(app, RETENTION_DAYS + 1).startswith("purged 2 children and 1 accounts")

    for table in ("episodes", "sleep_sessions", "clinician_notes", "child_summaries", "child_summary_reports",
                  "reminders", "reminder_schedules", "reminder_opt_outs", "memberships", "invites"):
        assert count(app, table, "child_id = :c", c=child_id) == 0, table
    assert count(app, "children", "id = :c", c=child_id) == 0
    assert count(app, "access_events", "child_id = :c", c=child_id) == audited, "the access log is kept"
    assert count(app, "users", "id = :u", u=loner.id) == 0, "an account nothing else names is gone"
    [(name, email)] = rows(app, "SELECT name, email FROM users WHERE id = :u", u=owner.id)
    assert name == "Deleted account" and owner.email != email, "still named by what it logged for Noah"
    assert count(app, "memberships", "user_id = :u", u=owner.id) == 0
    assert count(app, "tokens", "user_id = :u", u=owner.id) == 0
    assert client.get(f"/api/v1/children/{cocared['id']}", headers=second.headers).status_code == 200

    late = asleep.pull()  # a phone that slept through the whole retention period
    assert late["children"]["deleted"] == [child_id]
    assert set(late["episodes"]["deleted"]) == {episode["id"]} and late["sleep_sessions"]["deleted"] == [night["id"]]
    assert not late["children"]["created"] and not late["children"]["updated"]
    quiet = awake.pull()
    assert all(not quiet[table][kind] for table in quiet for kind in ("created", "updated", "deleted"))
    assert asleep.pull() == quiet, "told once, never again"
    fresh = Phone(client, second, "new-phone").pull()
    assert ids(fresh["children"], "created") == {cocared["id"]} and not fresh["children"]["deleted"]
    assert purge(app, RETENTION_DAYS + 2).startswith("purged 0 children and 0 accounts"), "idempotent"


def test_a_child_deleted_on_its_own_is_purged_too_and_a_late_push_cannot_bring_it_back(app, client, family):
    owner, second, child_id = family["owner"], family["caregiver"], family["child"]["id"]
    episode = client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(), headers=owner.headers).json
    phone = Phone(client, second, "phone")
    phone.pull()
    assert client.delete(f"/api/v1/children/{child_id}", headers=owner.headers).status_code == 204
    purge(app, RETENTION_DAYS + 1)
    assert count(app, "children", "id = :c", c=child_id) == 0
    offline = changes(children={"updated": [raw_child(child_id)]},
                      episodes={"updated": [raw_episode(episode["id"], child_id, notes="offline edit")],
                                "created": [raw_episode("late-new", child_id)]})
    pushed = phone.push(offline)
    assert pushed.status_code == 200, pushed.json  # dropped, as for a deleted child: the phone is not stuck
    assert count(app, "children", "id = :c", c=child_id) == 0
    assert count(app, "episodes", "child_id = :c", c=child_id) == 0
    pulled = phone.pull()
    assert pulled["children"]["deleted"] == [child_id] and episode["id"] in pulled["episodes"]["deleted"]


def test_the_scheduler_purges_once_a_day(app, client, family):
    from backend.jobs import PURGE_JOB_ID, build_scheduler, purge_job

    job = build_scheduler(app).get_job(PURGE_JOB_ID)
    assert job.trigger.interval == timedelta(days=1) and job.func_ref == "backend.jobs:purge_job"
    deleted = client.delete(f"/api/v1/children/{family['child']['id']}", headers=family["owner"].headers)
    assert deleted.status_code == 204
    run_sql(app, "UPDATE children SET deleted_at = :then", then=utcnow() - timedelta(days=RETENTION_DAYS + 1))
    purge_job()
    assert count(app, "children") == 0


@pytest.mark.config(PURGE_AFTER_DAYS=7)
def test_the_retention_period_is_a_setting(app, client, family):
    assert delete_me(client, family["owner"]).status_code == 204
    assert purge(app, 8).startswith("purged 1 children and 1 accounts")
