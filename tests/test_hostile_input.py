"""Hostile input (issue 8): absurd values, huge lists, unicode edge cases, NUL bytes and deep nesting
get a 422 or 400 naming the field, never a 500, and nothing is stored."""
import base64
import json

import pytest

from tests.dashboard_helpers import csrf_from
from tests.helpers import PASSWORD, assert_error, episode_body, sleep_body
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


# ---- issue 17, finding 6: malformed input is a 4xx, never a 500 --------------------------------

def cursor_of(value) -> str:
    """A cursor as the server makes them: base64 of JSON text."""
    text = value if isinstance(value, str) else json.dumps(value)
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


LIST_PATHS = ["/api/v1/children", "/api/v1/children/{child}/episodes", "/api/v1/children/{child}/sleep-sessions",
              "/api/v1/children/{child}/members", "/api/v1/children/{child}/notes",
              "/api/v1/children/{child}/access-log", "/api/v1/children/{child}/reminders"]
HOSTILE_CURSORS = {
    "naive datetime": cursor_of(["2026-11-28T02:14:00", "a"]),
    "year 1 east of UTC": cursor_of(["0001-01-01T00:00:00+01:00", "a"]),
    "year 9999 west of UTC": cursor_of(["9999-12-31T23:59:59-01:00", "a"]),
    "nested 1,500 deep": cursor_of("[" * 1500 + "]" * 1500),
    "a lone surrogate in the id": cursor_of('["2026-11-28T02:14:00+00:00", "\\ud800"]'),
    "raw surrogate bytes": base64.urlsafe_b64encode(b'["2026-11-28T02:14:00+00:00", "\xed\xa0\x80"]').decode(),
    "NUL in the id": cursor_of(["2026-11-28T02:14:00+00:00", "a\x00"]),
    "an id no row has": cursor_of(["2026-11-28T02:14:00+00:00", "x" * 500]),
    "three parts": cursor_of(["2026-11-28T02:14:00+00:00", "a", "b"]),
    "an object": cursor_of({"key": "2026-11-28T02:14:00+00:00", "id": "a"}),
    "a number for the instant": cursor_of([1764296040, "a"]),
    "not base64": "%%%",
    "not JSON": cursor_of("not json"),
    "too long": "A" * 5000,
}


@pytest.mark.parametrize("cursor", list(HOSTILE_CURSORS.values()), ids=list(HOSTILE_CURSORS))
def test_a_malformed_cursor_is_422_naming_the_cursor(client, family, cursor):
    response = client.get(f"/api/v1/children/{family['child']['id']}/episodes", query_string={"cursor": cursor},
                          headers=family["owner"].headers)
    assert_error(response, 422, "cursor")


@pytest.mark.parametrize("path", LIST_PATHS)
def test_every_list_refuses_every_malformed_cursor(client, family, path):
    url = path.format(child=family["child"]["id"])
    for name, cursor in HOSTILE_CURSORS.items():
        response = client.get(url, query_string={"cursor": cursor}, headers=family["owner"].headers)
        assert response.status_code == 422 and "cursor" in response.json["errors"], (name, response.json)


def test_a_cursor_from_the_server_still_pages(client, family):
    owner = family["owner"]
    for night in range(3):
        client.post(f"/api/v1/children/{family['child']['id']}/episodes", headers=owner.headers,
                    json=episode_body(started_at=f"2026-11-2{night}T02:14:00+01:00"))
    url = f"/api/v1/children/{family['child']['id']}/episodes"
    first = client.get(url, query_string={"limit": 2}, headers=owner.headers).json
    rest = client.get(url, query_string={"limit": 2, "cursor": first["next_cursor"]}, headers=owner.headers).json
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert client.get(url, query_string={"cursor": ""}, headers=owner.headers).json["items"] == episodes_of(
        client, family)


@pytest.mark.config(MAX_CONTENT_LENGTH=1024 * 1024)
@pytest.mark.parametrize("path", ["/api/v1/tokens", "/api/v1/users"])
def test_deeply_nested_json_to_the_public_endpoints_is_400(client, path):
    """The sign-in's rate limit reads the email from the body before the view does: it must not crash on it."""
    response = client.post(path, data=DEEP, content_type="application/json")
    assert_error(response, 400)


@pytest.mark.parametrize(("body", "errors"), [
    ({"name": "Mila", "birth_date": "2026-10-01", "timezone": "Europe/Berlin", "\ud800": 1},
     {"\\ud800": ["Not valid Unicode: a lone surrogate (half of a UTF-16 pair) is not a character."]}),
    ({"name": "Mila", "birth_date": "2026-10-01", "timezone": "\ud800", "sex": "\udfff"},
     {"timezone": ["Not valid Unicode: a lone surrogate (half of a UTF-16 pair) is not a character."],
      "sex": ["Not valid Unicode: a lone surrogate (half of a UTF-16 pair) is not a character."]}),
])
def test_a_lone_surrogate_anywhere_in_a_body_is_named_where_it_is(client, family, body, errors):
    response = client.post("/api/v1/children", data=json.dumps(body), content_type="application/json",
                           headers=family["owner"].headers)
    assert assert_error(response, 422)["errors"] == errors
    assert len(client.get("/api/v1/children", headers=family["owner"].headers).json["items"]) == 1


def test_a_lone_surrogate_in_a_list_or_an_enum_is_422(client, family):
    path = f"/api/v1/children/{family['child']['id']}/reminder-schedule"
    before = client.get(path, headers=family["owner"].headers).json
    body = json.dumps({"recipients": [family["owner"].id, "\ud800"], "weekday": "\ud800"})
    errors = assert_error(client.put(path, data=body, content_type="application/json",
                                     headers=family["owner"].headers), 422)["errors"]
    assert set(errors) == {"recipients", "weekday"} and set(errors["recipients"]) == {"1"}
    assert client.get(path, headers=family["owner"].headers).json == before


def test_a_bare_string_body_with_a_lone_surrogate_is_422(client, family):
    response = client.post(f"/api/v1/children/{family['child']['id']}/episodes", data='"\\ud800"',
                           content_type="application/json", headers=family["owner"].headers)
    assert_error(response, 422)


def test_an_escaped_backslash_before_u_d800_is_plain_text_and_kept(client, family):
    """The JSON text \\\\ud800 is a backslash and 'ud800', no surrogate: stored as sent."""
    response = client.post(f"/api/v1/children/{family['child']['id']}/episodes",
                           data=json.dumps(episode_body(notes="C:\\ud800")), content_type="application/json",
                           headers=family["owner"].headers)
    assert response.status_code == 201, response.json
    assert episodes_of(client, family)[0]["notes"] == "C:\\ud800"


@pytest.mark.parametrize("next_path", ["/dashboard/\r\nX-Injected: yes", "/dashboard/\n", "/dashboard/\r",
                                       "/dashboard/\x00", "/dashboard/\u2028", "/dashboard/\t"])
def test_a_dashboard_sign_in_with_a_line_break_in_next_opens_the_list(client, family, next_path):
    """A `next` that would split the Location header is dropped like any unsafe target (never a 500)."""
    login = client.get("/dashboard/login", query_string={"next": next_path})
    assert login.status_code == 200
    response = client.post("/dashboard/login", data={"email": family["owner"].email, "password": PASSWORD,
                                                     "csrf_token": csrf_from(login.get_data(as_text=True)),
                                                     "next": next_path})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/")
    assert "X-Injected" not in response.headers


EDGES_OF_TIME = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00"]


@pytest.mark.parametrize("instant", EDGES_OF_TIME)
def test_instants_at_the_edges_of_time_are_422_naming_the_field(client, family, instant):
    child_id, headers = family["child"]["id"], family["owner"].headers
    assert_error(client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(started_at=instant),
                             headers=headers), 422, "started_at")
    assert_error(client.post(f"/api/v1/children/{child_id}/sleep-sessions", json=sleep_body(ended_at=instant),
                             headers=headers), 422, "ended_at")
    for listing in ("episodes", "sleep-sessions"):
        for bound in ("from", "to"):
            response = client.get(f"/api/v1/children/{child_id}/{listing}", query_string={bound: instant},
                                  headers=headers)
            assert_error(response, 422, bound)
    assert episodes_of(client, family) == []
