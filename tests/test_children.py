"""Children: create, list, read, update, soft-delete; ages; validation; who may do what."""
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from tests.helpers import assert_error

CHILDREN = "/api/v1/children"


def test_a_caregiver_adds_a_child_and_owns_it(client, api):
    owner = api.register()
    child = api.create_child(owner, name="Mila", gestational_weeks=34, sex="female")
    assert child["owner_id"] == owner.id
    assert child["name"] == "Mila" and child["condition"] == "bnsm"
    assert child["birth_date"] == "2026-10-01" and child["timezone"] == "Europe/Berlin"
    fetched = client.get(f"{CHILDREN}/{child['id']}", headers=owner.headers)
    assert fetched.status_code == 200 and fetched.json == child
    members = client.get(f"{CHILDREN}/{child['id']}/members", headers=owner.headers).json
    assert [(m["user_id"], m["role"]) for m in members["items"]] == [(owner.id, "owner")]


def test_condition_defaults_to_unspecified(client, api):
    owner = api.register()
    response = client.post(CHILDREN, headers=owner.headers, json={
        "name": "Noah", "birth_date": "2026-09-01", "timezone": "America/New_York"})
    assert response.status_code == 201 and response.json["condition"] == "unspecified"


@time_machine.travel(datetime(2026, 11, 30, 12, tzinfo=UTC), tick=False)
def test_age_is_chronological_and_corrected_for_prematurity(api):
    owner = api.register()
    child = api.create_child(owner, birth_date="2026-09-07", gestational_weeks=32)
    age = child["age"]
    assert age["chronological"] == {"days": 84, "weeks": 12.0, "months": 2.8, "display": "12 weeks"}
    # Born 8 weeks early: corrected age is 84 - 56 days.
    assert age["corrected"] == {"days": 28, "weeks": 4.0, "months": 0.9, "display": "4 weeks"}
    assert age["show_corrected"] is True


@time_machine.travel(datetime(2026, 11, 30, 12, tzinfo=UTC), tick=False)
def test_age_reads_in_months_after_13_weeks_and_corrected_only_for_preterm(api):
    owner = api.register()
    term = api.create_child(owner, birth_date="2026-05-30", gestational_weeks=39)
    assert term["age"]["chronological"]["display"] == "6 months"
    assert term["age"]["show_corrected"] is False
    unknown = api.create_child(owner, birth_date="2026-05-30")
    assert unknown["age"]["corrected"] is None and unknown["age"]["show_corrected"] is False


@time_machine.travel(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), tick=False)
def test_age_counts_days_in_the_childs_timezone(api):
    owner = api.register()
    # 23:30 UTC is already 1 December in Auckland, still 30 November in Los Angeles.
    auckland = api.create_child(owner, birth_date="2026-11-23", timezone="Pacific/Auckland")
    los_angeles = api.create_child(owner, birth_date="2026-11-23", timezone="America/Los_Angeles")
    assert auckland["age"]["chronological"]["days"] == 8
    assert los_angeles["age"]["chronological"]["days"] == 7


@time_machine.travel(datetime(2026, 11, 30, 20, tzinfo=UTC), tick=False)
def test_a_preterm_child_younger_than_term_reads_before_term(api):
    owner = api.register()
    child = api.create_child(owner, birth_date="2026-11-16", gestational_weeks=30)
    assert child["age"]["corrected"]["days"] == 14 - 70
    assert child["age"]["corrected"]["display"] == "8 weeks before term"


@pytest.mark.parametrize("fields, field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 81}, "name"),
    ({"birth_date": "2026-02-30"}, "birth_date"),
    ({"birth_date": "30/11/2026"}, "birth_date"),
    ({"birth_date": (date.today() + timedelta(days=3)).isoformat()}, "birth_date"),
    ({"birth_date": "1900-01-01"}, "birth_date"),
    ({"gestational_weeks": 21}, "gestational_weeks"),
    ({"gestational_weeks": 45}, "gestational_weeks"),
    ({"gestational_weeks": "early"}, "gestational_weeks"),
    ({"sex": "unknown"}, "sex"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"condition": "epilepsy"}, "condition"),
    ({"owner_id": "someone-else"}, "owner_id"),
    ({"id": "my-own-id"}, "id"),
])
def test_bad_child_fields_are_named_and_nothing_is_stored(client, api, fields, field):
    owner = api.register()
    body = {"name": "Mila", "birth_date": "2026-10-01", "timezone": "Europe/Berlin", **fields}
    assert_error(client.post(CHILDREN, json=body, headers=owner.headers), 422, field=field)
    assert client.get(CHILDREN, headers=owner.headers).json["items"] == []


def test_missing_child_fields_are_all_named(client, api):
    owner = api.register()
    body = assert_error(client.post(CHILDREN, json={}, headers=owner.headers), 422)
    assert set(body["errors"]) == {"name", "birth_date", "timezone"}


def test_clinicians_do_not_add_children(client, api):
    clinician = api.register("clinician")
    response = client.post(CHILDREN, headers=clinician.headers, json={
        "name": "Mila", "birth_date": "2026-10-01", "timezone": "Europe/Berlin"})
    assert_error(response, 403)


def test_the_list_holds_only_the_users_children_in_pages(client, api):
    owner, stranger = api.register(), api.register()
    ids = [api.create_child(owner, name=f"Child {i}")["id"] for i in range(5)]
    api.create_child(stranger, name="Not yours")
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(CHILDREN, query_string=query, headers=owner.headers).json
        assert len(page["items"]) <= 2
        seen += [child["id"] for child in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


@pytest.mark.parametrize("query, field", [
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": "many"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
])
def test_bad_paging_arguments_are_named(client, api, query, field):
    owner = api.register()
    assert_error(client.get(CHILDREN, query_string=query, headers=owner.headers), 422, field=field)


def test_caregivers_update_and_the_change_shows(client, family):
    child, caregiver = family["child"], family["caregiver"]
    response = client.patch(f"{CHILDREN}/{child['id']}", headers=caregiver.headers,
                            json={"name": "Mila Rose", "gestational_weeks": 35.5})
    assert response.status_code == 200
    assert response.json["name"] == "Mila Rose" and response.json["gestational_weeks"] == 35.5
    assert response.json["birth_date"] == child["birth_date"]
    assert response.json["updated_at"] > child["updated_at"]
    again = client.get(f"{CHILDREN}/{child['id']}", headers=family["owner"].headers).json
    assert again["name"] == "Mila Rose"


def test_a_bad_update_changes_nothing(client, family):
    child, owner = family["child"], family["owner"]
    response = client.patch(f"{CHILDREN}/{child['id']}", headers=owner.headers,
                            json={"name": "Valid", "timezone": "Nowhere/Land"})
    assert_error(response, 422, field="timezone")
    assert client.get(f"{CHILDREN}/{child['id']}", headers=owner.headers).json["name"] == child["name"]


def test_clinicians_read_but_do_not_change_a_child(client, family):
    child, clinician = family["child"], family["clinician"]
    assert client.get(f"{CHILDREN}/{child['id']}", headers=clinician.headers).status_code == 200
    patched = client.patch(f"{CHILDREN}/{child['id']}", json={"name": "X"}, headers=clinician.headers)
    assert_error(patched, 403)
    assert_error(client.delete(f"{CHILDREN}/{child['id']}", headers=clinician.headers), 403)


def test_another_familys_child_does_not_exist_for_you(client, family, api):
    stranger = api.register()
    url = f"{CHILDREN}/{family['child']['id']}"
    assert_error(client.get(url, headers=stranger.headers), 404)
    assert_error(client.patch(url, json={"name": "X"}, headers=stranger.headers), 404)
    assert_error(client.delete(url, headers=stranger.headers), 404)
    assert_error(client.get(f"{CHILDREN}/no-such-child", headers=stranger.headers), 404)


def test_only_the_owner_deletes_and_the_child_is_gone_for_everyone(client, family):
    url = f"{CHILDREN}/{family['child']['id']}"
    assert_error(client.delete(url, headers=family["caregiver"].headers), 403)
    assert client.delete(url, headers=family["owner"].headers).status_code == 204
    for member in ("owner", "caregiver", "clinician"):
        headers = family[member].headers
        assert_error(client.get(url, headers=headers), 404)
        assert client.get(CHILDREN, headers=headers).json["items"] == []


def test_children_need_a_token(client, family):
    assert_error(client.get(CHILDREN), 401)
    assert_error(client.get(f"{CHILDREN}/{family['child']['id']}"), 401)
