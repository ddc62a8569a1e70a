"""The diary over REST: episodes and sleep sessions, validation, filters, who may write."""
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from backend import database
from backend.extensions import db
from tests.helpers import assert_error, episode_body, sleep_body


def post_episode(client, account, child_id, **fields):
    return client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(**fields),
                       headers=account.headers)


def test_a_caregiver_logs_an_episode_and_everyone_in_the_team_reads_it(client, family):
    child_id, caregiver = family["child"]["id"], family["caregiver"]
    response = post_episode(client, caregiver, child_id)
    assert response.status_code == 201
    episode = response.json
    assert episode["logged_by"] == caregiver.id and episode["child_id"] == child_id
    assert episode["started_at"] == "2026-11-28T01:14:00+00:00"
    assert episode["body_parts"] == ["arms", "legs"] and episode["triggers"] == ["fatigue"]
    for member in ("owner", "clinician"):
        got = client.get(f"/api/v1/episodes/{episode['id']}", headers=family[member].headers)
        assert got.status_code == 200 and got.json == episode


def test_defaults_fill_what_a_quick_log_leaves_out(client, family):
    body = {"started_at": "2026-11-28T02:14:00+01:00", "duration_seconds": 5,
            "timezone": "Europe/Berlin", "sleep_state": "asleep"}
    response = client.post(f"/api/v1/children/{family['child']['id']}/episodes", json=body,
                           headers=family["owner"].headers)
    assert response.status_code == 201
    assert response.json["side"] == "unknown" and response.json["stopped_when_woken"] == "not_tried"
    assert response.json["signs"] == [] and response.json["notes"] is None


@pytest.mark.parametrize("fields, field", [
    ({"sleep_state": "dreaming"}, "sleep_state"),
    ({"stopped_when_woken": "maybe"}, "stopped_when_woken"),
    ({"side": "middle"}, "side"),
    ({"body_parts": ["tail"]}, "body_parts"),
    ({"signs": "crying"}, "signs"),
    ({"triggers": ["moon"]}, "triggers"),
    ({"duration_seconds": -1}, "duration_seconds"),
    ({"duration_seconds": 21601}, "duration_seconds"),
    ({"duration_seconds": "long"}, "duration_seconds"),
    ({"timezone": "Europe/Atlantis"}, "timezone"),
    ({"started_at": "2026-11-28T02:14:00"}, "started_at"),
    ({"started_at": "2030-01-01T00:00:00+00:00"}, "started_at"),
    ({"started_at": "2026-09-30T12:00:00+02:00"}, "started_at"),
    ({"jerk_count": -3}, "jerk_count"),
    ({"notes": "x" * 2001}, "notes"),
    ({"notes": "bad\x00byte"}, "notes"),
    ({"id": "has spaces"}, "id"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_episodes_are_named_and_not_stored(client, family, fields, field):
    child_id, owner = family["child"]["id"], family["owner"]
    assert_error(post_episode(client, owner, child_id, **fields), 422, field=field)
    listed = client.get(f"/api/v1/children/{child_id}/episodes", headers=owner.headers)
    assert listed.json["items"] == []


def test_episodes_list_newest_first_with_filters_and_pages(client, family):
    child_id, owner = family["child"]["id"], family["owner"]
    for day, state in ((20, "asleep"), (21, "awake"), (22, "asleep"), (23, "asleep")):
        post_episode(client, owner, child_id, started_at=f"2026-11-{day}T03:00:00+01:00",
                     sleep_state=state)
    url = f"/api/v1/children/{child_id}/episodes"
    days = [e["started_at"][8:10] for e in client.get(url, headers=owner.headers).json["items"]]
    assert days == ["23", "22", "21", "20"]
    asleep = client.get(url, query_string={"sleep_state": "asleep", "from": "2026-11-21T00:00:00Z",
                                           "to": "2026-11-23T00:00:00Z"}, headers=owner.headers)
    assert [e["started_at"][8:10] for e in asleep.json["items"]] == ["22"]
    first = client.get(url, query_string={"limit": 3}, headers=owner.headers).json
    second = client.get(url, query_string={"limit": 3, "cursor": first["next_cursor"]},
                        headers=owner.headers).json
    assert [e["started_at"][8:10] for e in first["items"] + second["items"]] == days
    assert second["next_cursor"] is None


def test_put_with_a_client_id_creates_then_replaces_idempotently(client, family):
    owner, child_id = family["owner"], family["child"]["id"]
    body = episode_body(child_id=child_id, notes="first")
    created = client.put("/api/v1/episodes/phone-abc-123", json=body, headers=owner.headers)
    assert created.status_code == 201 and created.json["id"] == "phone-abc-123"
    again = client.put("/api/v1/episodes/phone-abc-123", json=body, headers=owner.headers)
    assert again.status_code == 200 and again.json["notes"] == "first"
    replaced = client.put("/api/v1/episodes/phone-abc-123", json=episode_body(child_id=child_id),
                          headers=owner.headers)
    assert replaced.json["notes"] == "Quiet night otherwise"
    listed = client.get(f"/api/v1/children/{child_id}/episodes", headers=owner.headers).json
    assert [e["id"] for e in listed["items"]] == ["phone-abc-123"]


def test_put_needs_a_child_to_create(client, family):
    assert_error(client.put("/api/v1/episodes/new-one", json=episode_body(),
                            headers=family["owner"].headers), 422, field="child_id")


def test_patch_changes_only_what_it_names(client, family):
    owner, child_id = family["owner"], family["child"]["id"]
    episode = post_episode(client, owner, child_id).json
    response = client.patch(f"/api/v1/episodes/{episode['id']}", json={"stopped_when_woken": "no"},
                            headers=family["caregiver"].headers)
    assert response.status_code == 200
    assert response.json["stopped_when_woken"] == "no" and response.json["notes"] == episode["notes"]
    assert response.json["logged_by"] == owner.id


def test_a_deleted_episode_is_gone_and_stays_gone(client, family):
    owner, child_id = family["owner"], family["child"]["id"]
    episode = post_episode(client, owner, child_id, id="kept-id").json
    assert client.delete(f"/api/v1/episodes/{episode['id']}", headers=owner.headers).status_code == 204
    assert_error(client.get(f"/api/v1/episodes/{episode['id']}", headers=owner.headers), 404)
    resurrect = client.put(f"/api/v1/episodes/{episode['id']}", json=episode_body(child_id=child_id),
                           headers=owner.headers)
    refused = assert_error(resurrect, 409)["message"]
    assert "not brought back" in refused
    assert assert_error(post_episode(client, owner, child_id, id="kept-id"), 409)["message"] == refused


def test_posting_a_taken_id_is_a_409_that_names_put_and_changes_nothing(client, family):
    owner, caregiver, child_id = family["owner"], family["caregiver"], family["child"]["id"]
    first = post_episode(client, owner, child_id, id="taken-id", notes="first").json
    again = post_episode(client, caregiver, child_id, id="taken-id", notes="second", duration_seconds=9)
    assert "use PUT" in assert_error(again, 409)["message"]
    assert client.get("/api/v1/episodes/taken-id", headers=owner.headers).json == first
    listed = client.get(f"/api/v1/children/{child_id}/episodes", headers=owner.headers).json["items"]
    assert [episode["id"] for episode in listed] == ["taken-id"]
    session = client.post(f"/api/v1/children/{child_id}/sleep-sessions", json=sleep_body(id="taken-night"),
                          headers=owner.headers)
    assert session.status_code == 201
    again = client.post(f"/api/v1/children/{child_id}/sleep-sessions", json=sleep_body(id="taken-night"),
                        headers=caregiver.headers)
    assert "use PUT" in assert_error(again, 409)["message"]


def test_clinicians_read_but_never_write_episodes(client, family):
    clinician, child_id = family["clinician"], family["child"]["id"]
    episode = post_episode(client, family["owner"], child_id).json
    assert_error(post_episode(client, clinician, child_id), 403)
    url = f"/api/v1/episodes/{episode['id']}"
    assert_error(client.patch(url, json={"side": "left"}, headers=clinician.headers), 403)
    assert_error(client.put(url, json=episode_body(child_id=child_id), headers=clinician.headers), 403)
    assert_error(client.delete(url, headers=clinician.headers), 403)
    assert client.get(url, headers=clinician.headers).status_code == 200


def test_other_families_see_no_episodes(client, family, api):
    stranger = api.register()
    episode = post_episode(client, family["owner"], family["child"]["id"]).json
    assert_error(client.get(f"/api/v1/episodes/{episode['id']}", headers=stranger.headers), 404)
    assert_error(client.get(f"/api/v1/children/{family['child']['id']}/episodes",
                            headers=stranger.headers), 404)
    assert_error(post_episode(client, stranger, family["child"]["id"]), 404)
    own_child = api.create_child(stranger)
    moved = client.patch(f"/api/v1/episodes/{episode['id']}", json={"child_id": own_child["id"]},
                         headers=stranger.headers)
    assert_error(moved, 404)


def test_a_revoked_caregiver_can_no_longer_log(client, family):
    owner, caregiver, child_id = family["owner"], family["caregiver"], family["child"]["id"]
    client.delete(f"/api/v1/children/{child_id}/members/{caregiver.id}", headers=owner.headers)
    assert_error(post_episode(client, caregiver, child_id), 404)


def test_sleep_sessions_round_trip_with_filters(client, family):
    owner, child_id = family["owner"], family["child"]["id"]
    url = f"/api/v1/children/{child_id}/sleep-sessions"
    night = client.post(url, json=sleep_body(), headers=owner.headers)
    assert night.status_code == 201 and night.json["watched"] is True
    nap = client.post(url, json=sleep_body(started_at="2026-11-28T13:00:00+01:00",
                                           ended_at="2026-11-28T14:00:00+01:00", kind="nap",
                                           watched=False), headers=owner.headers)
    assert nap.status_code == 201
    nights = client.get(url, query_string={"kind": "night"}, headers=owner.headers).json["items"]
    assert [s["id"] for s in nights] == [night.json["id"]]
    unwatched = client.get(url, query_string={"watched": "false"}, headers=owner.headers).json
    assert [s["id"] for s in unwatched["items"]] == [nap.json["id"]]
    ongoing = client.patch(f"/api/v1/sleep-sessions/{nap.json['id']}", json={"ended_at": None},
                           headers=owner.headers)
    assert ongoing.status_code == 200 and ongoing.json["ended_at"] is None


@pytest.mark.parametrize("fields, field", [
    ({"ended_at": "2026-11-27T18:00:00+01:00"}, "ended_at"),
    ({"ended_at": "2026-11-29T20:00:00+01:00"}, "ended_at"),
    ({"kind": "siesta"}, "kind"),
    ({"watched": "sometimes"}, "watched"),
    ({"started_at": "2031-01-01T00:00:00Z", "ended_at": None}, "started_at"),
])
def test_bad_sleep_sessions_are_named(client, family, fields, field):
    response = client.post(f"/api/v1/children/{family['child']['id']}/sleep-sessions",
                           json=sleep_body(**fields), headers=family["owner"].headers)
    assert_error(response, 422, field=field)


def test_a_patch_that_breaks_the_order_changes_nothing(client, family):
    owner, child_id = family["owner"], family["child"]["id"]
    session = client.post(f"/api/v1/children/{child_id}/sleep-sessions", json=sleep_body(),
                          headers=owner.headers).json
    url = f"/api/v1/sleep-sessions/{session['id']}"
    assert_error(client.patch(url, json={"ended_at": "2026-11-27T10:00:00+01:00"},
                              headers=owner.headers), 422, field="ended_at")
    assert client.get(url, headers=owner.headers).json["ended_at"] == session["ended_at"]


# ---- transactions of a REST write ---------------------------------------------------------------

def test_one_new_id_posted_at_once_from_many_phones_is_stored_once(app, client, family):
    """The INSERT takes the id: one 201, the others a 409 that names PUT, never a 500."""
    child_id, caregiver, phones = family["child"]["id"], family["caregiver"], 8
    start = threading.Barrier(phones)

    def post(_):
        own_client = app.test_client()
        start.wait()
        response = post_episode(own_client, caregiver, child_id, id="one-id-many-phones")
        return response.status_code, response.json.get("message", "")

    with ThreadPoolExecutor(phones) as pool:
        answers = sorted(pool.map(post, range(phones)))
    assert [status for status, _ in answers] == [201] + [409] * (phones - 1)
    assert all("use PUT" in message for _, message in answers[1:])
    listed = client.get(f"/api/v1/children/{child_id}/episodes", headers=caregiver.headers).json["items"]
    assert [episode["id"] for episode in listed] == ["one-id-many-phones"]


def transactions_of(app, send) -> list[tuple[str, list[str]]]:
    """(how each transaction began, the first words of its statements) while `send()` runs, as SQLite
    itself ran them (its trace callback: what SQLAlchemy sends and what the engine set-up sends raw)."""
    seen: list[tuple[str, list[str]]] = []

    def note(statement):
        words = " ".join(statement.split()[:4])
        if words.startswith("BEGIN"):
            seen.append((words, []))
        elif seen and not words.startswith("PRAGMA"):
            seen[-1][1].append(words)

    def trace(dbapi_connection, *args):
        dbapi_connection.set_trace_callback(note)

    def untrace(dbapi_connection, *args):
        dbapi_connection.set_trace_callback(None)

    with app.app_context():
        pool = db.engine.pool
    event.listen(pool, "checkout", trace)
    event.listen(pool, "checkin", untrace)
    try:
        send()
    finally:
        event.remove(pool, "checkout", trace)
        event.remove(pool, "checkin", untrace)
    return seen


def test_on_sqlite_a_new_entry_holds_the_write_lock_for_its_write_alone(app, client, family, database_url):
    """Its reads (token, membership) run beside other writers; BEGIN IMMEDIATE comes with the write, whose
    INSERT checks the id."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL locks rows")
    owner, child_id = family["owner"], family["child"]["id"]
    seen = transactions_of(app, lambda: post_episode(client, owner, child_id))
    reads, writes = seen
    assert reads[0] == "BEGIN" and any("FROM tokens" in s or "tokens." in s for s in reads[1])
    assert writes[0] == "BEGIN IMMEDIATE" and any(s.startswith("INSERT INTO episodes") for s in writes[1])
    assert not any(s.startswith("SELECT") for s in writes[1])
    assert not any("episodes" in s for s in reads[1])  # the INSERT checks the id: no read of it first
    episode_id = client.get(f"/api/v1/children/{child_id}/episodes", headers=owner.headers).json["items"][0]["id"]
    changed = transactions_of(app, lambda: client.patch(f"/api/v1/episodes/{episode_id}", json={"jerk_count": 3},
                                                        headers=owner.headers))
    assert [begun for begun, _ in changed] == ["BEGIN IMMEDIATE"]  # other writes: the lock from their first read


def test_on_sqlite_a_write_waits_while_another_writer_holds_the_lock_then_goes_through(app, client, family,
                                                                                     database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL locks rows")
    owner, child_id = family["owner"], family["child"]["id"]
    other_writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None,
                                   check_same_thread=False)
    other_writer.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.5, other_writer.rollback)
    release.start()
    started = time.monotonic()
    try:
        response = post_episode(client, owner, child_id)
    finally:
        release.join()
        other_writer.close()
    assert response.status_code == 201
    assert time.monotonic() - started >= 0.5
    listed = client.get(f"/api/v1/children/{child_id}/episodes", headers=owner.headers).json["items"]
    assert response.json["id"] in [item["id"] for item in listed]


def test_on_sqlite_a_writer_gives_up_at_the_busy_timeout_with_sqlalchemys_error(app, database_url, monkeypatch):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL locks rows")
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 300)
    other_writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    try:
        with (app.app_context(), database.writing_transactions(), pytest.raises(OperationalError, match="locked"),
              db.engine.begin() as connection):
            connection.exec_driver_sql("SELECT 1")
    finally:
        other_writer.rollback()
        other_writer.close()
    assert 0.3 <= time.monotonic() - started < 5
