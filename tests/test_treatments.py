"""Treatments (schema version 2, issue 20): stored and validated like episodes, over REST and sync."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import assert_error, run_sql
from tests.sync_helpers import MIGRATION_FROM_1, Phone, changes, ids, raw_episode
from tests.test_privacy import RETENTION_DAYS, purge


def treatment_body(**fields) -> dict:
    body = {"name": "Phenobarbital", "kind": "antiseizure_medication", "dose": "5 mg/kg/day",
            "started_on": "2026-11-01", "stopped_on": None, "notes": "Given in hospital"}
    return {**body, **fields}


def raw_treatment(record_id: str, child_id: str, **columns) -> dict:
    raw = {"id": record_id, "child_id": child_id, "name": "Phenobarbital", "kind": "antiseizure_medication",
           "dose": "", "started_on": "2026-11-01", "stopped_on": "", "notes": None, "logged_by": "",
           "created_at": 0, "updated_at": 0, "_status": "created", "_changed": ""}
    return {**raw, **columns}


def tomorrow_in_berlin() -> str:
    return (datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).date() + timedelta(days=1)).isoformat()


def post(client, account, child_id, **fields):
    return client.post(f"/api/v1/children/{child_id}/treatments", json=treatment_body(**fields),
                       headers=account.headers)


def v2_phone(client, account, device_id: str) -> Phone:
    phone = Phone(client, account, device_id, schema_version=2)
    phone.pull()
    return phone


# ---- REST -------------------------------------------------------------------------------------

def test_a_caregiver_logs_lists_changes_replaces_and_deletes_a_treatment(client, family):
    owner, child_id = family["owner"], family["child"]["id"]
    created = post(client, owner, child_id)
    assert created.status_code == 201, created.json
    treatment = created.json
    assert treatment["started_on"] == "2026-11-01" and treatment["stopped_on"] is None
    assert treatment["logged_by"] == owner.id and treatment["child_id"] == child_id
    later = post(client, owner, child_id, name="Melatonin", kind="supplement", started_on="2026-11-20").json
    listed = client.get(f"/api/v1/children/{child_id}/treatments", headers=owner.headers).json
    assert [t["id"] for t in listed["items"]] == [later["id"], treatment["id"]]  # newest start first
    assert listed["next_cursor"] is None
    by_kind = client.get(f"/api/v1/children/{child_id}/treatments", headers=owner.headers,
                         query_string={"kind": "supplement"}).json
    assert [t["id"] for t in by_kind["items"]] == [later["id"]]
    url = f"/api/v1/treatments/{treatment['id']}"
    patched = client.patch(url, json={"stopped_on": "2026-11-10"}, headers=family["caregiver"].headers)
    assert patched.status_code == 200 and patched.json["stopped_on"] == "2026-11-10"
    replaced = client.put(url, json=treatment_body(child_id=child_id, dose=None), headers=owner.headers)
    assert replaced.status_code == 200 and replaced.json["stopped_on"] is None and replaced.json["dose"] is None
    assert client.delete(url, headers=owner.headers).status_code == 204
    assert_error(client.get(url, headers=owner.headers), 404)


def test_a_treatment_list_pages_by_start_date(client, family):
    owner, child_id = family["owner"], family["child"]["id"]
    for day in range(1, 6):
        post(client, owner, child_id, started_on=f"2026-11-0{day}")
    url = f"/api/v1/children/{child_id}/treatments"
    first = client.get(url, headers=owner.headers, query_string={"limit": 2}).json
    assert [t["started_on"] for t in first["items"]] == ["2026-11-05", "2026-11-04"]
    second = client.get(url, headers=owner.headers, query_string={"limit": 2, "cursor": first["next_cursor"]})
    assert second.status_code == 200, second.json
    assert [t["started_on"] for t in second.json["items"]] == ["2026-11-03", "2026-11-02"]


def test_put_creates_a_treatment_under_a_client_chosen_id(client, family):
    child_id = family["child"]["id"]
    response = client.put("/api/v1/treatments/tr-phone-1", json=treatment_body(child_id=child_id),
                          headers=family["owner"].headers)
    assert response.status_code == 201 and response.json["id"] == "tr-phone-1"


@pytest.mark.parametrize(("fields", "field"), [
    ({"started_on": "2026-09-30"}, "started_on"),  # the child was born 2026-10-01
    ({"stopped_on": "2026-10-31"}, "stopped_on"),  # before started_on
    ({"name": ""}, "name"), ({"name": "two\nlines"}, "name"), ({"name": "x" * 121}, "name"),
    ({"kind": "antibiotic"}, "kind"), ({"dose": "x" * 121}, "dose"), ({"notes": "x" * 2001}, "notes"),
    ({"started_on": "2026-11-31"}, "started_on"),
])
def test_a_treatment_out_of_place_is_a_422_naming_the_field(client, family, fields, field):
    assert_error(post(client, family["owner"], family["child"]["id"], **fields), 422, field=field)


def test_dates_after_the_childs_local_today_are_a_422(client, family):
    owner, child_id = family["owner"], family["child"]["id"]
    assert_error(post(client, owner, child_id, started_on=tomorrow_in_berlin()), 422, field="started_on")
    treatment = post(client, owner, child_id).json
    assert_error(client.patch(f"/api/v1/treatments/{treatment['id']}", json={"stopped_on": tomorrow_in_berlin()},
                              headers=owner.headers), 422, field="stopped_on")
    assert_error(client.patch(f"/api/v1/treatments/{treatment['id']}", json={"started_on": "2026-11-02",
                                                                            "stopped_on": "2026-11-01"},
                              headers=owner.headers), 422, field="stopped_on")


def test_clinicians_read_treatments_and_are_logged_but_never_write(client, family):
    owner, clinician, child_id = family["owner"], family["clinician"], family["child"]["id"]
    treatment = post(client, owner, child_id).json
    url = f"/api/v1/treatments/{treatment['id']}"
    assert_error(post(client, clinician, child_id), 403)
    assert_error(client.patch(url, json={"dose": "1 mg"}, headers=clinician.headers), 403)
    assert_error(client.put(url, json=treatment_body(child_id=child_id), headers=clinician.headers), 403)
    assert_error(client.delete(url, headers=clinician.headers), 403)
    assert client.get(url, headers=clinician.headers).status_code == 200
    assert client.get(f"/api/v1/children/{child_id}/treatments", headers=clinician.headers).status_code == 200
    log = client.get(f"/api/v1/children/{child_id}/access-log", headers=owner.headers).json["items"]
    assert {event["user"]["id"] for event in log} == {clinician.id}


def test_other_families_see_no_treatments(client, family, api):
    stranger = api.register()
    child_id = family["child"]["id"]
    treatment = post(client, family["owner"], child_id).json
    assert_error(client.get(f"/api/v1/children/{child_id}/treatments", headers=stranger.headers), 404)
    assert_error(client.get(f"/api/v1/treatments/{treatment['id']}", headers=stranger.headers), 404)
    assert_error(client.delete(f"/api/v1/treatments/{treatment['id']}", headers=stranger.headers), 404)


# ---- sync -------------------------------------------------------------------------------------

def test_treatments_round_trip_between_two_v2_phones_and_rest(client, app, family):
    child_id = family["child"]["id"]
    mum, dad = v2_phone(client, family["owner"], "mumphone1"), v2_phone(client, family["caregiver"], "dadphone1")
    pushed = mum.push(changes(schema_version=2, treatments={"created": [raw_treatment("tr1", child_id)]}))
    assert pushed.status_code == 200, pushed.json
    rest = client.get("/api/v1/treatments/tr1", headers=family["owner"].headers).json
    assert rest["logged_by"] == family["owner"].id and rest["stopped_on"] is None and rest["dose"] == ""
    (pulled,) = dad.pull()["treatments"]["created"]
    assert pulled["started_on"] == "2026-11-01" and pulled["stopped_on"] is None
    assert pulled["logged_by"] == family["owner"].id and pulled["name"] == "Phenobarbital"
    assert dad.push(changes(schema_version=2, treatments={"updated": [
        raw_treatment("tr1", child_id, stopped_on="2026-11-15")]})).status_code == 200
    assert [t["stopped_on"] for t in mum.pull()["treatments"]["updated"]] == ["2026-11-15"]
    assert dad.push(changes(schema_version=2, treatments={"deleted": ["tr1"]})).status_code == 200
    assert mum.pull()["treatments"]["deleted"] == ["tr1"]
    assert run_sql(app, "SELECT deleted_at IS NOT NULL FROM treatments WHERE id = 'tr1'").scalar()


def test_a_v1_phone_never_hears_of_treatments_and_its_migration_pull_gets_them_all(client, family):
    child_id = family["child"]["id"]
    post(client, family["owner"], child_id)
    phone = Phone(client, family["caregiver"], "dadphone1")
    assert "treatments" not in phone.pull()
    phone.schema_version = 2
    migrated = phone.pull(migration=MIGRATION_FROM_1)
    assert [t["name"] for t in migrated["treatments"]["created"]] == ["Phenobarbital"]


def test_a_treatment_edited_on_two_phones_is_a_409_then_merges(app, client, family):
    child_id = family["child"]["id"]
    mum, dad = v2_phone(client, family["owner"], "mumphone1"), v2_phone(client, family["caregiver"], "dadphone1")
    mum.push(changes(schema_version=2, treatments={"created": [raw_treatment("tr1", child_id)]}))
    dad.pull(), mum.pull()
    assert mum.push(changes(schema_version=2, treatments={"updated": [
        raw_treatment("tr1", child_id, stopped_on="2026-11-20")]})).status_code == 200
    stale = dad.push(changes(schema_version=2, treatments={"updated": [raw_treatment("tr1", child_id, dose="2 mg")]}))
    error = assert_error(stale, 409)
    assert list(error["errors"]["treatments"]) == ["tr1"]
    assert run_sql(app, "SELECT dose FROM treatments WHERE id = 'tr1'").scalar() == ""
    (theirs,) = dad.pull()["treatments"]["updated"]
    assert dad.push(changes(schema_version=2, treatments={"updated": [
        raw_treatment("tr1", child_id, dose="2 mg", stopped_on=theirs["stopped_on"])]})).status_code == 200
    merged = client.get("/api/v1/treatments/tr1", headers=family["owner"].headers).json
    assert (merged["dose"], merged["stopped_on"]) == ("2 mg", "2026-11-20")


@pytest.mark.parametrize(("columns", "field"), [
    ({"started_on": "2026-09-30"}, "started_on"), ({"stopped_on": "2026-10-30"}, "stopped_on"),
    ({"started_on": "tomorrow"}, "started_on"), ({"kind": "antibiotic"}, "kind"), ({"name": ""}, "name"),
])
def test_a_pushed_treatment_out_of_place_is_a_422_and_nothing_is_stored(app, client, family, columns, field):
    child_id = family["child"]["id"]
    if columns.get("started_on") == "tomorrow":
        columns = {"started_on": tomorrow_in_berlin()}
    phone = v2_phone(client, family["owner"], "mumphone1")
    body = changes(schema_version=2, episodes={"created": [raw_episode("ep1", child_id)]},
                   treatments={"created": [raw_treatment("tr1", child_id, **columns)]})
    error = assert_error(phone.push(body), 422, field="treatments")
    assert field in error["errors"]["treatments"]["tr1"]
    assert run_sql(app, "SELECT count(*) FROM episodes").scalar() == 0


def test_a_push_of_treatments_is_idempotent_and_refused_to_clinicians_and_strangers(app, client, api, family):
    child_id = family["child"]["id"]
    mum = v2_phone(client, family["owner"], "mumphone1")
    body = changes(schema_version=2, treatments={"created": [raw_treatment("tr1", child_id)]})
    assert mum.push(body).status_code == 200 and mum.push(body).status_code == 200
    assert run_sql(app, "SELECT count(*) FROM treatments").scalar() == 1
    clinician = v2_phone(client, family["clinician"], "docphone")
    assert_error(clinician.push(changes(schema_version=2, treatments={"updated": [raw_treatment("tr1", child_id)]})),
                 403)
    stranger = api.register()
    own = api.create_child(stranger)
    phone = v2_phone(client, stranger, "strangerphone")
    taken = phone.push(changes(schema_version=2, treatments={"created": [raw_treatment("tr1", own["id"])]}))
    assert_error(taken, 403, field="treatments")
    assert child_id not in str(taken.json)
    assert ids(phone.pull(None)["treatments"], "created") == set()


def test_a_purged_childs_treatments_reach_a_phone_that_slept_through_as_deleted(app, client, family):
    child_id = family["child"]["id"]
    dad = v2_phone(client, family["caregiver"], "dadphone1")
    assert dad.push(changes(schema_version=2, treatments={"created": [raw_treatment("tr1", child_id)]})
                    ).status_code == 200
    dad.pull()
    assert client.delete(f"/api/v1/children/{child_id}", headers=family["owner"].headers).status_code == 204
    purge(app, RETENTION_DAYS + 1)
    assert run_sql(app, "SELECT count(*) FROM treatments").scalar() == 0
    pulled = dad.pull()
    assert pulled["treatments"]["deleted"] == ["tr1"] and pulled["children"]["deleted"] == [child_id]
