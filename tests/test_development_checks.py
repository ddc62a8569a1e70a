"""Development checks (schema version 2, issue 20): stored and validated like episodes, over REST and sync."""
import json

import pytest

from tests.helpers import assert_error, run_sql
from tests.sync_helpers import MIGRATION_FROM_1, Phone, changes
from tests.test_treatments import tomorrow_in_berlin, v2_phone


def check_body(**fields) -> dict:
    body = {"checked_on": "2026-11-29", "new_skills": "yes", "lost_skills": "no",
            "concerns": ["less_smiling"], "notes": "Smiles less since the cold"}
    return {**body, **fields}


def raw_check(record_id: str, child_id: str, **columns) -> dict:
    raw = {"id": record_id, "child_id": child_id, "checked_on": "2026-11-29", "new_skills": "yes",
           "lost_skills": "no", "concerns": '["stiff"]', "notes": None, "logged_by": "", "created_at": 0,
           "updated_at": 0}
    return {**raw, **columns}


def post(client, account, child_id, **fields):
    return client.post(f"/api/v1/children/{child_id}/development-checks", json=check_body(**fields),
                       headers=account.headers)


def test_a_caregiver_logs_lists_changes_and_deletes_a_development_check(client, family):
    owner, child_id = family["owner"], family["child"]["id"]
    created = post(client, owner, child_id, concerns=["floppy", "floppy", "stiff"])
    assert created.status_code == 201, created.json
    check = created.json
    assert check["concerns"] == ["floppy", "stiff"] and check["logged_by"] == owner.id
    older = post(client, owner, child_id, checked_on="2026-11-01", lost_skills="yes").json
    url = f"/api/v1/children/{child_id}/development-checks"
    listed = client.get(url, headers=owner.headers).json
    assert [c["id"] for c in listed["items"]] == [check["id"], older["id"]]  # newest check first
    lost = client.get(url, headers=owner.headers, query_string={"lost_skills": "yes"}).json
    assert [c["id"] for c in lost["items"]] == [older["id"]]
    paged = client.get(url, headers=owner.headers, query_string={"limit": 1}).json
    rest = client.get(url, headers=owner.headers, query_string={"limit": 1, "cursor": paged["next_cursor"]}).json
    assert [c["id"] for c in paged["items"] + rest["items"]] == [check["id"], older["id"]]
    item = f"/api/v1/development-checks/{check['id']}"
    patched = client.patch(item, json={"new_skills": "unsure", "concerns": []}, headers=family["caregiver"].headers)
    assert patched.status_code == 200 and (patched.json["new_skills"], patched.json["concerns"]) == ("unsure", [])
    replaced = client.put(item, json=check_body(child_id=child_id), headers=owner.headers)
    assert replaced.status_code == 200 and replaced.json["concerns"] == ["less_smiling"]
    assert client.delete(item, headers=owner.headers).status_code == 204
    assert_error(client.get(item, headers=owner.headers), 404)


@pytest.mark.parametrize(("fields", "field"), [
    ({"checked_on": "2026-09-30"}, "checked_on"), ({"new_skills": "maybe"}, "new_skills"),
    ({"lost_skills": None}, "lost_skills"), ({"concerns": ["seizures"]}, "concerns"),
    ({"notes": "x" * 2001}, "notes"), ({"checked_on": "29.11.2026"}, "checked_on"),
])
def test_a_development_check_out_of_place_is_a_422_naming_the_field(client, family, fields, field):
    assert_error(post(client, family["owner"], family["child"]["id"], **fields), 422, field=field)


def test_a_check_after_the_childs_local_today_is_a_422(client, family):
    assert_error(post(client, family["owner"], family["child"]["id"], checked_on=tomorrow_in_berlin()), 422,
                 field="checked_on")


def test_clinicians_read_development_checks_and_are_logged_but_never_write(client, family, api):
    owner, clinician, child_id = family["owner"], family["clinician"], family["child"]["id"]
    check = post(client, owner, child_id).json
    item = f"/api/v1/development-checks/{check['id']}"
    assert_error(post(client, clinician, child_id), 403)
    assert_error(client.patch(item, json={"notes": "x"}, headers=clinician.headers), 403)
    assert_error(client.delete(item, headers=clinician.headers), 403)
    assert client.get(item, headers=clinician.headers).json["id"] == check["id"]
    log = client.get(f"/api/v1/children/{child_id}/access-log", headers=owner.headers).json["items"]
    assert {event["user"]["id"] for event in log} == {clinician.id}
    stranger = api.register()
    assert_error(client.get(item, headers=stranger.headers), 404)
    assert_error(client.get(f"/api/v1/children/{child_id}/development-checks", headers=stranger.headers), 404)


def test_development_checks_round_trip_through_sync(app, client, family):
    child_id = family["child"]["id"]
    mum, dad = v2_phone(client, family["owner"], "mumphone1"), v2_phone(client, family["caregiver"], "dadphone1")
    assert mum.push(changes(schema_version=2, development_checks={"created": [raw_check("dc1", child_id)]})
                    ).status_code == 200
    assert client.get("/api/v1/development-checks/dc1", headers=family["owner"].headers).json["concerns"] == ["stiff"]
    (pulled,) = dad.pull()["development_checks"]["created"]
    assert (pulled["checked_on"], json.loads(pulled["concerns"]), pulled["logged_by"]) == (
        "2026-11-29", ["stiff"], family["owner"].id)
    assert dad.push(changes(schema_version=2, development_checks={"deleted": ["dc1"]})).status_code == 200
    assert mum.pull()["development_checks"]["deleted"] == ["dc1"]
    v1 = Phone(client, family["caregiver"], "oldphone")
    assert "development_checks" not in v1.pull()
    post(client, family["owner"], child_id)
    v1.schema_version = 2
    assert len(v1.pull(migration=MIGRATION_FROM_1)["development_checks"]["created"]) == 1


@pytest.mark.parametrize(("columns", "field"), [
    ({"checked_on": "2026-09-30"}, "checked_on"), ({"lost_skills": ""}, "lost_skills"),
    ({"concerns": '["seizures"]'}, "concerns"), ({"checked_on": "2026-13-01"}, "checked_on"),
])
def test_a_pushed_development_check_out_of_place_is_a_422_and_nothing_is_stored(app, client, family, columns, field):
    phone = v2_phone(client, family["owner"], "mumphone1")
    response = phone.push(changes(schema_version=2, development_checks={"created": [
        raw_check("dc1", family["child"]["id"], **columns)]}))
    error = assert_error(response, 422, field="development_checks")
    assert field in error["errors"]["development_checks"]["dc1"]
    assert run_sql(app, "SELECT count(*) FROM development_checks").scalar() == 0


def test_a_development_check_changed_on_the_server_since_the_pull_is_a_409(client, family):
    child_id = family["child"]["id"]
    mum = v2_phone(client, family["owner"], "mumphone1")
    mum.push(changes(schema_version=2, development_checks={"created": [raw_check("dc1", child_id)]}))
    mum.pull()
    client.patch("/api/v1/development-checks/dc1", json={"notes": "from the web"}, headers=family["caregiver"].headers)
    assert_error(mum.push(changes(schema_version=2, development_checks={"updated": [
        raw_check("dc1", child_id, lost_skills="yes")]})), 409, field="development_checks")
