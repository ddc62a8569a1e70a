"""Text in every free-text field of the API (issue 17, findings 1 and 6).

A lone surrogate (the JSON escape \\ud800 without its pair) cannot be encoded as UTF-8: no database,
password hash or email takes it, so in any field it is a 422 naming the field, never a 500. NUL and
the other control characters are refused in free text (notes keep newlines and tabs), and names,
which go into email headers and chart labels, are one line: no control character at all, CR, LF and
tab included, nor U+2028/U+2029. A refused value changes nothing that is stored.
"""
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from backend.sync.columns import decode_record
from backend.validation import LONE_SURROGATE_MESSAGE
from tests.helpers import PASSWORD, assert_error, episode_body, run_sql, sleep_body
from tests.sync_helpers import Phone, changes, raw_child, raw_episode, raw_sleep

LONE_SURROGATES = ["\ud800", "Mila\udfff", "a\udc00b\ud83d"]  # high, low, and both in the wrong order
CONTROLS = ["night\x00time", "\x1b[31mred"]
LINE_BREAKS = ["A\nB", "A\rB", "Eve\r\nX-Injected: yes", "A\tB", "A\u2028B", "A\u2029B", "A\x85B", "A\x7fB"]


@dataclass
class Diary:
    """A family with one stored entry of each kind, and the client to reach them."""

    client: object
    app: object
    family: dict
    episode: dict
    sleep: dict
    note: dict

    @property
    def child_id(self) -> str:
        return self.family["child"]["id"]

    def send(self, method: str, path: str, body: dict, account: str = "owner"):
        """The body as a phone sends it: json.dumps escapes a lone surrogate as \\ud800."""
        headers = self.family[account].headers if account else {}
        return self.client.open(path, method=method, data=json.dumps(body),
                                headers={**headers, "Content-Type": "application/json"})

    def get(self, path: str):
        return self.client.get(path, headers=self.family["owner"].headers).json

    def count(self, table: str) -> int:
        return run_sql(self.app, f"SELECT count(*) FROM {table}").scalar()  # noqa: S608 (names from this file)

    def push(self, **tables):
        phone = Phone(self.client, self.family["owner"], "textphone")
        phone.pull()
        return phone.push(changes(**tables))


@pytest.fixture
def diary(app, client, family) -> Diary:
    owner, clinician = family["owner"].headers, family["clinician"].headers
    child_id = family["child"]["id"]
    episode = client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(video_ref="clip-1"),
                          headers=owner)
    sleep = client.post(f"/api/v1/children/{child_id}/sleep-sessions", json=sleep_body(notes="Calm"), headers=owner)
    note = client.post(f"/api/v1/children/{child_id}/notes", json={"text": "EEG normal"}, headers=clinician)
    assert (episode.status_code, sleep.status_code, note.status_code) == (201, 201, 201)
    return Diary(client, app, family, episode.json, sleep.json, note.json)


@dataclass(frozen=True)
class Field:
    """One place a client writes text: how to send a value there, and what is stored there."""

    name: str  # the field the error names
    kind: str  # "name": one line; "text": free text; "secret": a password, any text but a lone surrogate
    send: Callable[[Diary, str], object]
    stored: Callable[[Diary], object]
    sync_table: str | None = None  # a sync push: the error names table, record id and field

    def __repr__(self) -> str:
        return self.name


def _new_user(d: Diary, **fields):
    body = {"email": "new@example.org", "password": PASSWORD, "name": "New Parent", "role": "caregiver", **fields}
    return d.send("POST", "/api/v1/users", body, account=None)


def _users(d: Diary):
    return run_sql(d.app, "SELECT email, name, deleted_at FROM users ORDER BY email").all()


def _episode(d: Diary):
    return d.get(f"/api/v1/episodes/{d.episode['id']}")


def _sleep(d: Diary):
    return d.get(f"/api/v1/sleep-sessions/{d.sleep['id']}")


def _children(d: Diary):
    return d.get("/api/v1/children")["items"]


def _diary_rows(d: Diary):
    return [d.get(f"/api/v1/children/{d.child_id}/{kind}")["items"] for kind in ("episodes", "sleep-sessions")]


def _notes(d: Diary):
    return d.get(f"/api/v1/children/{d.child_id}/notes")["items"]


def _tokens(d: Diary):
    return d.count("tokens")


def _sync_episode(d: Diary, **columns):
    return d.push(episodes={"updated": [raw_episode(d.episode["id"], d.child_id, **columns)]})


FIELDS = [
    Field("name", "name", lambda d, v: _new_user(d, name=v), _users),
    Field("password", "secret", lambda d, v: _new_user(d, password=f"long enough {v}"), _users),
    Field("email", "secret", lambda d, v: _new_user(d, email=f"a{v}@example.org"), _users),
    Field("password", "secret", lambda d, v: d.send("POST", "/api/v1/tokens", {
        "email": d.family["owner"].email, "password": f"{PASSWORD}{v}"}, account=None), _tokens),
    Field("email", "secret", lambda d, v: d.send("POST", "/api/v1/tokens", {
        "email": f"{v}{d.family['owner'].email}", "password": PASSWORD}, account=None), _tokens),
    Field("password", "secret", lambda d, v: d.send("DELETE", "/api/v1/me", {"password": f"{PASSWORD}{v}"}), _users),
    Field("name", "name", lambda d, v: d.send("POST", "/api/v1/children", {
        "name": v, "birth_date": "2026-10-01", "timezone": "Europe/Berlin"}), _children),
    Field("name", "name", lambda d, v: d.send("PATCH", f"/api/v1/children/{d.child_id}", {"name": v}), _children),
    Field("notes", "text", lambda d, v: d.send("POST", f"/api/v1/children/{d.child_id}/episodes",
                                               episode_body(notes=v)), _diary_rows),
    Field("video_ref", "text", lambda d, v: d.send("POST", f"/api/v1/children/{d.child_id}/episodes",
                                                   episode_body(video_ref=v)), _diary_rows),
    Field("notes", "text", lambda d, v: d.send("PUT", "/api/v1/episodes/put-id-1", episode_body(
        child_id=d.child_id, notes=v)), _diary_rows),
    Field("notes", "text", lambda d, v: d.send("PATCH", f"/api/v1/episodes/{d.episode['id']}", {"notes": v}),
          _episode),
    Field("video_ref", "text", lambda d, v: d.send("PATCH", f"/api/v1/episodes/{d.episode['id']}",
                                                   {"video_ref": v}), _episode),
    Field("notes", "text", lambda d, v: d.send("POST", f"/api/v1/children/{d.child_id}/sleep-sessions",
                                               sleep_body(notes=v)), _diary_rows),
    Field("notes", "text", lambda d, v: d.send("PATCH", f"/api/v1/sleep-sessions/{d.sleep['id']}", {"notes": v}),
          _sleep),
    Field("text", "text", lambda d, v: d.send("POST", f"/api/v1/children/{d.child_id}/notes", {"text": v},
                                              account="clinician"), _notes),
    Field("text", "text", lambda d, v: d.send("PUT", f"/api/v1/children/{d.child_id}/notes/{d.note['id']}",
                                              {"text": v}, account="clinician"), _notes),
    Field("name", "name", lambda d, v: d.push(children={"updated": [raw_child(d.child_id, name=v)]}),
          _children, sync_table="children"),
    Field("notes", "text", lambda d, v: _sync_episode(d, notes=v), _episode, sync_table="episodes"),
    Field("video_ref", "text", lambda d, v: _sync_episode(d, video_ref=v), _episode, sync_table="episodes"),
    Field("notes", "text", lambda d, v: d.push(sleep_sessions={"updated": [raw_sleep(d.sleep["id"], d.child_id,
                                                                                     notes=v)]}),
          _sleep, sync_table="sleep_sessions"),
]
CASES = [pytest.param(field, value, id=f"{index}-{field.name}-{value!r}")
         for index, field in enumerate(FIELDS)
         for value in [*LONE_SURROGATES[:1], *(CONTROLS if field.kind != "secret" else []),
                       *(LINE_BREAKS if field.kind == "name" else [])]]


def record_id_of(diary: Diary, field: Field) -> str:
    return {"children": diary.child_id, "episodes": diary.episode["id"],
            "sleep_sessions": diary.sleep["id"]}[field.sync_table]


@pytest.mark.parametrize(("field", "value"), CASES)
def test_a_refused_value_is_422_naming_the_field_and_nothing_stored_changes(diary, field, value):
    before = field.stored(diary)
    body = assert_error(field.send(diary, value), 422)
    errors = body["errors"][field.sync_table][record_id_of(diary, field)] if field.sync_table else body["errors"]
    assert field.name in errors, body
    assert field.stored(diary) == before


@pytest.mark.parametrize("value", LONE_SURROGATES)
def test_every_lone_surrogate_is_refused_in_a_name_and_in_notes(diary, value):
    assert_error(diary.send("PATCH", f"/api/v1/children/{diary.child_id}", {"name": value}), 422, "name")
    assert_error(diary.send("PATCH", f"/api/v1/episodes/{diary.episode['id']}", {"notes": value}), 422, "notes")


def test_a_pair_of_surrogates_is_one_character_and_kept(diary):
    """json.dumps sends 👶 as the escapes \\ud83d\\udc76: together they are one character."""
    response = diary.send("PATCH", f"/api/v1/children/{diary.child_id}", {"name": "Mila 👶"})
    assert response.status_code == 200, response.json
    assert "\\ud83d\\udc76" in json.dumps({"name": "Mila 👶"})
    assert _children(diary)[0]["name"] == "Mila 👶"


def test_notes_keep_their_newlines_and_tabs(diary):
    notes = "Night 1:\n\tarms, 20 s\r\nNight 2:\u2028legs"
    for path in (f"/api/v1/episodes/{diary.episode['id']}", f"/api/v1/sleep-sessions/{diary.sleep['id']}"):
        assert diary.send("PATCH", path, {"notes": notes}).status_code == 200
        assert diary.get(path)["notes"] == notes
    response = diary.send("PUT", f"/api/v1/children/{diary.child_id}/notes/{diary.note['id']}",
                          {"text": "EEG:\n\tnormal"}, account="clinician")
    assert response.status_code == 200 and response.json["text"] == "EEG:\n\tnormal"


@pytest.mark.parametrize("name", ["Zoë-Marie O’Neil", "محمد", "李小龙", "Noah 👨‍👩‍👧", "e\u0301"])
def test_names_in_any_script_with_emoji_and_joiners_are_kept(diary, name):
    assert diary.send("PATCH", f"/api/v1/children/{diary.child_id}", {"name": name}).status_code == 200
    response = _new_user(diary, name=name)
    assert response.status_code == 201 and response.json["name"] == name


def test_a_sync_push_with_a_name_on_two_lines_stores_nothing(diary):
    response = diary.push(children={"created": [raw_child("phone-child", name="A\nB")]},
                          episodes={"created": [raw_episode("fine1", diary.child_id)]})
    errors = assert_error(response, 422)["errors"]
    assert list(errors) == ["children"] and list(errors["children"]["phone-child"]) == ["name"]
    assert [child["id"] for child in _children(diary)] == [diary.child_id]
    assert diary.count("episodes") == 1


@pytest.mark.parametrize(("column", "value"), [("notes", "\ud800"), ("video_ref", "clip\udfff"), ("notes", "a\x00b")])
def test_the_sync_decoder_refuses_what_no_database_stores(column, value):
    """The phone's records are decoded by backend.sync.columns, whatever reached it."""
    _, problems = decode_record("episodes", raw_episode("ep1", "child1", **{column: value}))
    assert list(problems) == [column]


@pytest.mark.parametrize("value", ["\ud800", "A\nB", "A\u2028B", "\t"])
def test_the_sync_decoder_keeps_names_on_one_line(value):
    _, problems = decode_record("children", raw_child("child1", name=value))
    assert list(problems) == ["name"]


def test_a_push_with_lone_surrogates_in_ids_names_them_as_push_names_bad_ids(diary):
    response = diary.push(episodes={"created": [raw_episode("ep\ud800", diary.child_id)], "deleted": ["gone\udc00"]})
    errors = assert_error(response, 422)["errors"]
    assert errors == {"episodes": {"ep\\ud800": {"id": [LONE_SURROGATE_MESSAGE]},
                                   "gone\\udc00": {"id": [LONE_SURROGATE_MESSAGE]}}}
    assert diary.count("episodes") == 1


@pytest.mark.parametrize("body", [
    {"episodes": {"created": {"x": {"notes": "\ud800"}}}},
    {"episodes": {"created": [["\ud800"]]}},
    {"episodes": {"created": [{"notes": "\ud800"}]}},
    {"episodes": {"deleted": [{"id": "\ud800"}]}},
    {"\ud800": {}},
    "\ud800",
])
def test_a_push_of_any_shape_with_a_lone_surrogate_is_422(diary, body):
    response = diary.client.post("/api/v1/sync", data=json.dumps(body), headers=diary.family["owner"].headers)
    assert_error(response, 422)
    assert diary.count("episodes") == 1
