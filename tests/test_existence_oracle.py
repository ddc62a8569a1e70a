"""An id of an entry the caller cannot see answers as an unknown id does (issue 17, finding 5).

GET, PATCH and DELETE give another family's entry, live or deleted, the 404 of an unknown id; PUT
and POST under a taken id give one 409 whoever holds the id, naming no one; a sync push never names
a child the caller cannot see, and answers for another family's record as for a brand-new one
wherever the id being taken does not decide the answer.
"""
import json

import pytest

from tests.helpers import assert_error, episode_body, sleep_body
from tests.sync_helpers import Phone, changes, raw_episode, raw_sleep

RESOURCES = {"episodes": episode_body, "sleep-sessions": sleep_body}
TABLES = {"episodes": raw_episode, "sleep_sessions": raw_sleep}
UNKNOWN = "no-such-id"


@pytest.fixture
def world(client, api, family):
    """Family A's live and deleted entries of both kinds; a stranger with a child and a deleted entry of
    their own, and a third family's child."""
    owner, child_id = family["owner"], family["child"]["id"]
    stranger = api.register()
    own_child = api.create_child(stranger, name="Own")
    third_child = api.create_child(api.register(), name="Third")
    for path, body in RESOURCES.items():
        for entry_id, account, child in ((f"theirs-live-{path}", owner, child_id),
                                         (f"theirs-gone-{path}", owner, child_id),
                                         (f"mine-gone-{path}", stranger, own_child["id"])):
            created = client.post(f"/api/v1/children/{child}/{path}", json=body(id=entry_id, notes="kept"),
                                  headers=account.headers)
            assert created.status_code == 201, created.json
        for entry_id, account in ((f"theirs-gone-{path}", owner), (f"mine-gone-{path}", stranger)):
            assert client.delete(f"/api/v1/{path}/{entry_id}", headers=account.headers).status_code == 204
    return {**family, "stranger": stranger, "own_child": own_child["id"], "third_child": third_child["id"]}


def answer(response, record_id: str | None = None) -> tuple[int, str]:
    """Status and body, with the id the caller sent blanked so that answers for two ids compare."""
    text = json.dumps(response.get_json(), sort_keys=True)
    return response.status_code, text.replace(record_id, "<id>") if record_id else text


def assert_family_entry_unchanged(client, world, path: str) -> None:
    kept = client.get(f"/api/v1/{path}/theirs-live-{path}", headers=world["owner"].headers)
    assert kept.status_code == 200 and kept.json["notes"] == "kept"
    assert kept.json["child_id"] == world["child"]["id"]


# ---- REST: read, change, delete ----------------------------------------------------------------

@pytest.mark.parametrize("path", RESOURCES)
@pytest.mark.parametrize("method, body", [("GET", None), ("PATCH", {"notes": "changed"}), ("DELETE", None)])
def test_another_familys_entry_answers_as_an_unknown_id(client, world, path, method, body):
    def call(entry_id):
        return client.open(f"/api/v1/{path}/{entry_id}", method=method, json=body,
                           headers=world["stranger"].headers)

    unknown = call(UNKNOWN)
    assert_error(unknown, 404)
    for entry_id in (f"theirs-live-{path}", f"theirs-gone-{path}", f"mine-gone-{path}"):
        assert answer(call(entry_id)) == answer(unknown), entry_id
    assert_family_entry_unchanged(client, world, path)


# ---- REST: create under a taken id -------------------------------------------------------------

@pytest.mark.parametrize("path", RESOURCES)
def test_put_under_a_taken_id_is_one_409_whoever_holds_it_naming_no_one(client, world, path):
    body = RESOURCES[path](child_id=world["own_child"])

    def put(entry_id):
        return client.put(f"/api/v1/{path}/{entry_id}", json={**body, "notes": "mine"},
                          headers=world["stranger"].headers)

    answers = {entry_id: put(entry_id) for entry_id in
               (f"theirs-live-{path}", f"theirs-gone-{path}", f"mine-gone-{path}")}
    refused = assert_error(answers[f"mine-gone-{path}"], 409)
    assert "taken" in refused["message"] and "choose another" in refused["message"]
    for entry_id, response in answers.items():
        assert answer(response) == answer(answers[f"mine-gone-{path}"]), entry_id
        assert world["child"]["id"] not in response.get_data(as_text=True)
        assert "family" not in response.get_data(as_text=True)
    assert put("free-id").status_code == 201
    assert_family_entry_unchanged(client, world, path)


@pytest.mark.parametrize("path", RESOURCES)
def test_post_under_a_taken_id_is_the_409_put_gives(client, world, path):
    put = client.put(f"/api/v1/{path}/theirs-live-{path}", json=RESOURCES[path](child_id=world["own_child"]),
                     headers=world["stranger"].headers)
    assert_error(put, 409)
    for entry_id in (f"theirs-live-{path}", f"theirs-gone-{path}", f"mine-gone-{path}"):
        posted = client.post(f"/api/v1/children/{world['own_child']}/{path}",
                             json=RESOURCES[path](id=entry_id), headers=world["stranger"].headers)
        assert answer(posted) == answer(put), entry_id
    assert_family_entry_unchanged(client, world, path)


@pytest.mark.parametrize("path", RESOURCES)
def test_put_for_a_child_you_cannot_see_answers_as_for_an_unknown_id(client, world, path):
    body = RESOURCES[path](child_id=world["child"]["id"])

    def put(entry_id):
        return client.put(f"/api/v1/{path}/{entry_id}", json=body, headers=world["stranger"].headers)

    unknown = put(UNKNOWN)
    assert_error(unknown, 404)
    for entry_id in (f"theirs-live-{path}", f"theirs-gone-{path}"):
        assert answer(put(entry_id)) == answer(unknown), entry_id
    assert_family_entry_unchanged(client, world, path)


# ---- sync push ---------------------------------------------------------------------------------

@pytest.fixture
def phone(client, world):
    phone = Phone(client, world["stranger"], "strangerphone")
    phone.pull()
    return phone


def rest_path(table: str) -> str:
    return table.replace("_", "-")


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("kind", ["created", "updated"])
def test_a_push_of_another_familys_record_for_a_child_you_cannot_write_answers_as_a_new_record(
        client, world, phone, table, kind):
    def push(record_id):
        return phone.push(changes(**{table: {kind: [TABLES[table](record_id, world["third_child"])]}}))

    new = push("brand-new-id")
    assert_error(new, 403)
    for record_id in (f"theirs-live-{rest_path(table)}", f"theirs-gone-{rest_path(table)}"):
        assert answer(push(record_id), record_id) == answer(new, "brand-new-id"), record_id
    assert_family_entry_unchanged(client, world, rest_path(table))


@pytest.mark.parametrize("table", TABLES)
def test_a_push_reusing_another_familys_id_names_none_of_their_children(client, world, phone, table):
    def push(record_id):
        return phone.push(changes(**{table: {"created": [TABLES[table](record_id, world["own_child"])]}}))

    live_id, gone_id = f"theirs-live-{rest_path(table)}", f"theirs-gone-{rest_path(table)}"
    refused = push(live_id)
    assert_error(refused, 403)
    assert world["child"]["id"] not in refused.get_data(as_text=True)
    assert answer(push(gone_id), gone_id) == answer(refused, live_id)
    listed = phone.client.get(f"/api/v1/children/{world['own_child']}/{rest_path(table)}",
                              headers=world["stranger"].headers).json["items"]
    assert listed == []
    assert_family_entry_unchanged(client, world, rest_path(table))


@pytest.mark.parametrize("table", TABLES)
def test_a_push_deleting_another_familys_record_answers_as_for_an_unknown_id(client, world, phone, table):
    unknown = phone.push(changes(**{table: {"deleted": [UNKNOWN]}}))
    assert unknown.status_code == 200
    for record_id in (f"theirs-live-{rest_path(table)}", f"theirs-gone-{rest_path(table)}"):
        assert answer(phone.push(changes(**{table: {"deleted": [record_id]}}))) == answer(unknown), record_id
    assert_family_entry_unchanged(client, world, rest_path(table))


def test_a_push_deleting_another_familys_child_answers_as_for_an_unknown_id(client, world, phone):
    unknown = phone.push(changes(children={"deleted": ["no-such-child"]}))
    assert unknown.status_code == 200
    assert answer(phone.push(changes(children={"deleted": [world["child"]["id"]]}))) == answer(unknown)
    kept = client.get(f"/api/v1/children/{world['child']['id']}", headers=world["owner"].headers)
    assert kept.status_code == 200


@pytest.mark.parametrize("table", TABLES)
def test_a_push_for_your_deleted_child_drops_another_familys_id_as_a_new_one(client, world, phone, table):
    assert client.delete(f"/api/v1/children/{world['own_child']}", headers=world["stranger"].headers).status_code == 204

    def push(record_id):
        return phone.push(changes(**{table: {"created": [TABLES[table](record_id, world["own_child"])]}}))

    new = push("brand-new-id")
    assert new.status_code == 200
    assert answer(push(f"theirs-live-{rest_path(table)}")) == answer(new)
    assert_family_entry_unchanged(client, world, rest_path(table))
