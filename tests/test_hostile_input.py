"""Hostile input (issue 8): absurd values, huge lists, unicode edge cases, NUL bytes and deep nesting
get a 422 or 400 naming the field, never a 500, and nothing is stored."""
import json

import pytest

from tests.helpers import assert_error, episode_body, sleep_body
from tests.sync_helpers import Phone, changes, raw_episode

DEEP = "[" * 100_000 + "]" * 100_000


def episodes_of(client, family) -> list:
    return client.get(f"/api/v1/children/{family['child']['id']}/episodes",
                      headers=family["owner"].headers).json["items"]


@pytest.mark.config(MAX_CONTENT_LENGTH=1024 * 1024)  # big enough for the long lists: 422 for them, not 413
@pytest.mark.parametrize(("fields", "field"), [
    ({"started_at": "1900-01-01T02:00:00+01:00"}, "started_at"),
    ({"started_at": "2200-01-01T02:00:00+01:00"}, "started_at"),
    ({"duration_seconds": 3 * 24 * 3600}, "duration_seconds"),
    ({"duration_seconds": -5}, "duration_seconds"),
    ({"jerk_count": 10**12}, "jerk_count"),
    ({"notes": "night\x00time"}, "notes"),
    ({"notes": "x" * 100_000}, "notes"),
    ({"body_parts": ["arms"] * 10_000}, "body_parts"),
    ({"signs": ["crying", "not-a-sign"]}, "signs"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"sleep_state": "\ud800"}, "sleep_state"),
])
def test_absurd_episodes_are_422_naming_the_field_and_nothing_is_stored(client, family, fields, field):
    response = client.post(f"/api/v1/children/{family['child']['id']}/episodes", json=episode_body(**fields),
                           headers=family["owner"].headers)
    assert_error(response, 422, field)
    assert episodes_of(client, family) == []


@pytest.mark.parametrize("name", ["\x00", "Mila\u0000", " ", "x" * 81])
def test_absurd_child_names_are_refused(client, family, name):
    response = client.patch(f"/api/v1/children/{family['child']['id']}", json={"name": name},
                            headers=family["owner"].headers)
    assert_error(response, 422, "name")


def test_a_birth_date_centuries_away_is_refused(client, api):
    owner = api.register()
    for day in ("1900-01-01", "2200-01-01"):
        response = client.post("/api/v1/children", json={"name": "A", "birth_date": day, "timezone": "Europe/Berlin",
                                                         "condition": "bnsm"}, headers=owner.headers)
        assert_error(response, 422, "birth_date")


def test_a_night_lasting_days_is_refused(client, family):
    response = client.post(f"/api/v1/children/{family['child']['id']}/sleep-sessions",
                           json=sleep_body(ended_at="2026-12-27T06:30:00+01:00"), headers=family["owner"].headers)
    assert response.status_code == 422, response.json


@pytest.mark.config(MAX_CONTENT_LENGTH=1024 * 1024)
def test_deeply_nested_json_is_refused_not_a_crash(client, family):
    response = client.post(f"/api/v1/children/{family['child']['id']}/episodes", data=DEEP,
                           headers={**family["owner"].headers, "Content-Type": "application/json"})
    assert response.status_code in (400, 422), response.get_data(as_text=True)[:200]
    assert response.get_json()["code"] == response.status_code


@pytest.mark.parametrize("entry_id", ["x" * 65, "with space", "nul\x00"])
def test_a_put_under_an_id_no_phone_would_make_is_refused(client, family, entry_id):
    """Found by the fuzzer: a PUT stored any id on SQLite and a 65-character one was a 500 on PostgreSQL."""
    response = client.put(f"/api/v1/episodes/{entry_id}", json=episode_body(child_id=family["child"]["id"]),
                          headers=family["owner"].headers)
    assert_error(response, 422, "id")
    assert episodes_of(client, family) == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_sync_version_beyond_bigint_is_refused(client, family, method):
    """Found by the fuzzer: last_pulled_at=2**63 was a 500 on both databases (64-bit integers)."""
    response = client.open("/api/v1/sync", method=method, query_string={"last_pulled_at": 2**63},
                           json=None if method == "GET" else changes(), headers=family["owner"].headers)
    assert_error(response, 422, "last_pulled_at")


def test_an_oversize_body_is_413_and_nothing_is_stored(client, family):
    response = client.post(f"/api/v1/children/{family['child']['id']}/episodes",
                           json=episode_body(notes="x" * 70_000), headers=family["owner"].headers)
    assert_error(response, 413)
    assert episodes_of(client, family) == []


def test_unicode_names_and_notes_round_trip_whole(client, family):
    notes = "Zoë 👶🏽 ﷽ e\u0301 \u202eRTL\u202c"
    response = client.post(f"/api/v1/children/{family['child']['id']}/episodes", json=episode_body(notes=notes),
                           headers=family["owner"].headers)
    assert response.status_code == 201, response.json
    assert episodes_of(client, family)[0]["notes"] == notes


@pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)
def test_a_sync_push_with_one_hostile_record_stores_nothing(client, family):
    phone = Phone(client, family["owner"], "hostile-phone")
    phone.pull()
    good = [raw_episode(f"ok{index}", family["child"]["id"]) for index in range(50)]
    bad = raw_episode("bad1", family["child"]["id"], notes="a\x00b")
    response = phone.push(changes(episodes={"created": [*good, bad]}))
    body = assert_error(response, 422)
    assert "bad1" in json.dumps(body)
    assert episodes_of(client, family) == []
