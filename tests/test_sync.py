"""The WatermelonDB sync protocol over HTTP (../shared/SYNC_SCHEMA.md), rule by rule."""
import json

import pytest

from tests.helpers import assert_error, clock_held, episode_body, run_sql, statements_of
from tests.sync_helpers import NIGHT_MS, Phone, changes, ids, raw_child, raw_episode, raw_sleep


@pytest.fixture
def phones(client, family):
    """The owner's and the second caregiver's phones, both synced once."""
    mum, dad = Phone(client, family["owner"], "mumphone1"), Phone(client, family["caregiver"], "dadphone1")
    mum.pull(), dad.pull()
    return mum, dad


def episode_count(app) -> int:
    return run_sql(app, "SELECT count(*) FROM episodes").scalar()


def test_a_first_pull_returns_everything_with_a_counter_timestamp(client, family):
    child_id = family["child"]["id"]
    client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(), headers=family["owner"].headers)
    phone = Phone(client, family["caregiver"], "phone1")
    pulled = phone.pull()
    assert phone.last_pulled_at >= 1 and isinstance(phone.last_pulled_at, int)
    assert set(pulled) == {"children", "episodes", "sleep_sessions"}
    assert [c["id"] for c in pulled["children"]["created"]] == [child_id]
    (episode,) = pulled["episodes"]["created"]
    assert episode["started_at"] == NIGHT_MS and episode["body_parts"] == '["arms", "legs"]'
    assert episode["logged_by"] == family["owner"].id
    assert "_status" not in episode and "_changed" not in episode and "deleted_at" not in episode
    assert pulled["children"]["created"][0]["birth_date"] == family["child"]["birth_date"]


def test_a_pull_with_nothing_new_is_empty_and_keeps_the_timestamp_while_the_clock_stands(app, phones):
    mum, _ = phones
    with clock_held(app):
        mum.pull()
        before = mum.last_pulled_at
        pulled = mum.pull()
    assert all(not any(lists.values()) for lists in pulled.values())
    assert mum.last_pulled_at == before
    assert_empty(mum.pull())  # the clock moved on (on PostgreSQL, with any database's transactions): still empty
    assert mum.last_pulled_at >= before


def test_a_pull_after_no_write_anywhere_reads_no_diary_table_and_after_anyones_write_finds_only_its_own(
        app, api, phones):
    mum, _ = phones
    with clock_held(app):
        mum.pull()
        read = statements_of(app, mum.pull)
    assert read and not [s for s in read if "episodes" in s or "sleep_sessions" in s or "purged" in s]
    stranger = api.register("caregiver")  # another family writes: the clock moves past mum's pull
    api.create_child(stranger)
    before = mum.last_pulled_at
    read = statements_of(app, lambda: assert_empty(mum.pull()))
    assert mum.last_pulled_at > before and any("episodes" in s for s in read)
    with clock_held(app):
        mum.pull()
        read = statements_of(app, lambda: assert_empty(mum.pull()))
    assert not [s for s in read if "episodes" in s]


def assert_empty(pulled: dict) -> None:
    assert all(not any(lists.values()) for lists in pulled.values()), pulled


@pytest.mark.parametrize("query", [{}, {"last_pulled_at": ""}, {"last_pulled_at": "undefined"}])
def test_an_absent_last_pulled_at_means_everything(client, family, query):
    response = client.get("/api/v1/sync", query_string=query, headers=family["owner"].headers)
    assert response.status_code == 200 and len(response.json["changes"]["children"]["created"]) == 1


def test_the_other_phone_gets_new_records_as_created_and_the_pusher_as_updated(phones, family):
    mum, dad = phones
    child_id = family["child"]["id"]
    pushed = mum.push(changes(episodes={"created": [raw_episode("ep1", child_id)]},
                              sleep_sessions={"created": [raw_sleep("sl1", child_id)]}))
    assert pushed.status_code == 200 and pushed.json == {}
    at_dad = dad.pull()
    assert ids(at_dad["episodes"], "created") == {"ep1"} and ids(at_dad["sleep_sessions"], "created") == {"sl1"}
    assert at_dad["episodes"]["created"][0]["logged_by"] == family["owner"].id
    at_mum = mum.pull()
    assert ids(at_mum["episodes"], "updated") == {"ep1"} and not at_mum["episodes"]["created"]


def test_edits_and_deletes_reach_the_other_phone(phones, family):
    mum, dad = phones
    child_id = family["child"]["id"]
    mum.push(changes(episodes={"created": [raw_episode("ep1", child_id), raw_episode("ep2", child_id)]}))
    dad.pull(), mum.pull()
    assert mum.push(changes(episodes={"updated": [raw_episode("ep1", child_id, side="left")],
                                      "deleted": ["ep2"]})).status_code == 200
    at_dad = dad.pull()
    assert [e["side"] for e in at_dad["episodes"]["updated"]] == ["left"]
    assert at_dad["episodes"]["deleted"] == ["ep2"]


def test_a_push_is_all_or_nothing_and_names_table_id_and_field(app, phones, family):
    mum, _ = phones
    child_id = family["child"]["id"]
    body = changes(episodes={"created": [raw_episode("good1", child_id),
                                         raw_episode("bad1", child_id, sleep_state="dreaming")]},
                   sleep_sessions={"created": [raw_sleep("sl1", child_id)]})
    error = assert_error(mum.push(body), 422)
    assert error["errors"] == {"episodes": {"bad1": {"sleep_state": [
        "Must be one of: asleep, falling_asleep, waking, awake, unknown."]}}}
    assert episode_count(app) == 0
    assert run_sql(app, "SELECT count(*) FROM sleep_sessions").scalar() == 0


@pytest.mark.parametrize("column, value", [
    ("started_at", "yesterday"), ("duration_seconds", 99999), ("timezone", "Nowhere"),
    ("body_parts", '["wings"]'), ("body_parts", "not json"), ("body_parts", json.dumps(["arms"] * 40 + ["wings"])),
    ("body_parts", ["arms"]), ("jerk_count", 1.5),
    ("child_id", None), ("notes", "x" * 2001), ("started_at", 4102444800000),
    ("started_at", 1000000000000),
])
def test_bad_values_are_422_with_nothing_stored(app, phones, family, column, value):
    mum, _ = phones
    record = {**raw_episode("ep1", family["child"]["id"]), column: value}
    body = changes(episodes={"created": [record]})
    error = assert_error(mum.push(body), 422)
    assert column in error["errors"]["episodes"]["ep1"]
    assert episode_count(app) == 0


def test_unknown_tables_and_columns_are_422(app, phones, family):
    mum, _ = phones
    assert_error(mum.push({**changes(), "medications": {"created": [], "updated": [], "deleted": []}}),
                 422, field="medications")
    body = changes(episodes={"created": [raw_episode("ep1", family["child"]["id"], mood="calm")]})
    assert assert_error(mum.push(body), 422)["errors"]["episodes"]["ep1"] == {"mood": ["Unknown column."]}
    assert episode_count(app) == 0


def test_the_same_id_twice_in_one_push_is_422(phones, family):
    mum, _ = phones
    child_id = family["child"]["id"]
    body = changes(episodes={"created": [raw_episode("ep1", child_id)], "updated": [raw_episode("ep1", child_id)]})
    assert_error(mum.push(body), 422)


def test_created_with_an_existing_id_is_an_upsert(app, phones, family):
    mum, _ = phones
    child_id = family["child"]["id"]
    mum.push(changes(episodes={"created": [raw_episode("ep1", child_id)]}))
    mum.pull()
    again = mum.push(changes(episodes={"created": [raw_episode("ep1", child_id, notes="edited")]}))
    assert again.status_code == 200
    assert episode_count(app) == 1
    assert run_sql(app, "SELECT notes FROM episodes").scalar() == "edited"


def test_updated_of_an_unknown_id_creates_it_but_never_a_deleted_one(app, phones, family):
    mum, dad = phones
    child_id = family["child"]["id"]
    assert mum.push(changes(episodes={"updated": [raw_episode("ep1", child_id)]})).status_code == 200
    assert episode_count(app) == 1
    mum.pull()
    mum.push(changes(episodes={"deleted": ["ep1"]}))
    dad.pull()
    assert dad.push(changes(episodes={"updated": [raw_episode("ep1", child_id)],
                                      "created": [raw_episode("ep2", child_id)]})).status_code == 200
    live = run_sql(app, "SELECT id FROM episodes WHERE deleted_at IS NULL").scalars().all()
    assert live == ["ep2"]


def test_deleting_an_unknown_id_is_ignored(phones):
    mum, _ = phones
    assert mum.push(changes(episodes={"deleted": ["never-existed"]})).status_code == 200


def test_a_record_changed_by_another_phone_since_the_pull_is_a_409_with_nothing_stored(app, phones, family):
    mum, dad = phones
    child_id = family["child"]["id"]
    mum.push(changes(episodes={"created": [raw_episode("ep1", child_id)]}))
    dad.pull(), mum.pull()
    assert mum.push(changes(episodes={"updated": [raw_episode("ep1", child_id, side="left")]})).status_code == 200
    stale = dad.push(changes(episodes={"updated": [raw_episode("ep1", child_id, jerk_count=7)],
                                       "created": [raw_episode("ep2", child_id)]}))
    error = assert_error(stale, 409)
    assert list(error["errors"]["episodes"]) == ["ep1"]
    assert episode_count(app) == 1
    dad.pull()
    assert dad.push(changes(episodes={"updated": [raw_episode("ep1", child_id, side="left", jerk_count=7)],
                                      "created": [raw_episode("ep2", child_id)]})).status_code == 200


def test_a_rest_edit_after_the_pull_is_a_conflict_for_the_phone(client, phones, family):
    mum, _ = phones
    child_id = family["child"]["id"]
    mum.push(changes(episodes={"created": [raw_episode("ep1", child_id)]}))
    mum.pull()
    client.patch("/api/v1/episodes/ep1", json={"notes": "from the dashboard"}, headers=family["caregiver"].headers)
    assert_error(mum.push(changes(episodes={"updated": [raw_episode("ep1", child_id, side="right")]})), 409)


def test_a_repeated_push_whose_reply_was_lost_stores_nothing_twice(app, phones, family):
    mum, dad = phones
    child_id = family["child"]["id"]
    body = changes(episodes={"created": [raw_episode("ep1", child_id), raw_episode("ep2", child_id)]},
                   sleep_sessions={"created": [raw_sleep("sl1", child_id)]})
    assert mum.push(body).status_code == 200
    assert mum.push(body).status_code == 200
    assert episode_count(app) == 2
    assert ids(dad.pull()["episodes"], "created") == {"ep1", "ep2"}


def test_a_child_made_on_a_phone_belongs_to_the_pushing_caregiver(client, family):
    mum = Phone(client, family["owner"], "mumphone1")
    mum.pull()
    body = changes(children={"created": [raw_child("phonekid1")]},
                   episodes={"created": [raw_episode("ep1", "phonekid1")]})
    assert mum.push(body).status_code == 200
    child = client.get("/api/v1/children/phonekid1", headers=family["owner"].headers)
    assert child.status_code == 200 and child.json["owner_id"] == family["owner"].id
    members = client.get("/api/v1/children/phonekid1/members", headers=family["owner"].headers).json
    assert [(m["user_id"], m["role"]) for m in members["items"]] == [(family["owner"].id, "owner")]
    assert ids(mum.pull()["children"], "updated") == {"phonekid1"}


def test_care_team_caregivers_update_the_child_but_only_the_owner_deletes_it(app, phones, family):
    _, dad = phones
    child_id = family["child"]["id"]
    renamed = raw_child(child_id, name="Mila Rose", birth_date=family["child"]["birth_date"])
    assert dad.push(changes(children={"updated": [renamed]})).status_code == 200
    dad.pull()
    assert_error(dad.push(changes(children={"deleted": [child_id]})), 403)
    assert run_sql(app, "SELECT name FROM children WHERE deleted_at IS NULL").scalar() == "Mila Rose"


def test_a_newly_granted_child_arrives_created_with_its_diary(client, api, phones, family):
    mum, _ = phones
    child_id = family["child"]["id"]
    mum.push(changes(episodes={"created": [raw_episode("ep1", child_id)]},
                     sleep_sessions={"created": [raw_sleep("sl1", child_id)]}))
    grandma = api.register()
    grandma_phone = Phone(client, grandma, "granphone")
    grandma_phone.pull()
    api.join(family["owner"], child_id, grandma)
    pulled = grandma_phone.pull()
    assert ids(pulled["children"], "created") == {child_id}
    assert ids(pulled["episodes"], "created") == {"ep1"} and ids(pulled["sleep_sessions"], "created") == {"sl1"}
    assert not pulled["episodes"]["updated"]


def test_a_revoked_child_arrives_deleted_with_its_diary(client, phones, family):
    mum, dad = phones
    child_id = family["child"]["id"]
    mum.push(changes(episodes={"created": [raw_episode("ep1", child_id)]},
                     sleep_sessions={"created": [raw_sleep("sl1", child_id)]}))
    dad.pull()
    client.delete(f"/api/v1/children/{child_id}/members/{family['caregiver'].id}", headers=family["owner"].headers)
    pulled = dad.pull()
    assert pulled["children"]["deleted"] == [child_id]
    assert pulled["episodes"]["deleted"] == ["ep1"] and pulled["sleep_sessions"]["deleted"] == ["sl1"]
    assert_error(dad.push(changes(episodes={"created": [raw_episode("ep9", child_id)]})), 403)


def test_a_deleted_child_arrives_deleted_and_offline_edits_to_it_are_dropped(app, client, phones, family):
    mum, dad = phones
    child_id = family["child"]["id"]
    mum.push(changes(episodes={"created": [raw_episode("ep1", child_id)]}))
    dad.pull()
    client.delete(f"/api/v1/children/{child_id}", headers=family["owner"].headers)
    assert dad.push(changes(episodes={"created": [raw_episode("ep2", child_id)]}),
                    last_pulled_at=dad.last_pulled_at).status_code == 200
    pulled = dad.pull()
    assert pulled["children"]["deleted"] == [child_id] and pulled["episodes"]["deleted"] == ["ep1"]
    assert episode_count(app) == 1


def test_clinicians_pull_but_never_push(client, family):
    clinician = Phone(client, family["clinician"], "clinic1")
    assert ids(clinician.pull()["children"], "created") == {family["child"]["id"]}
    pushed = clinician.push(changes(episodes={"created": [raw_episode("ep1", family["child"]["id"])]}))
    error = assert_error(pushed, 403)
    assert "caregivers" in error["message"]


def test_a_push_for_a_child_the_user_cannot_write_is_403_with_nothing_stored(app, api, client, family):
    stranger = api.register()
    phone = Phone(client, stranger, "strangerphone")
    phone.pull()
    own = api.create_child(stranger)
    body = changes(episodes={"created": [raw_episode("mine", own["id"]), raw_episode("theirs", family["child"]["id"])]})
    error = assert_error(phone.push(body), 403)
    assert list(error["errors"]["episodes"]) == ["theirs"]
    assert episode_count(app) == 0


def test_a_push_without_content_type_works(client, phones, family):
    mum, _ = phones
    body = json.dumps(changes(episodes={"created": [raw_episode("ep1", family["child"]["id"])]}))
    response = client.post("/api/v1/sync", data=body, headers={**family["owner"].headers, "Content-Type": ""},
                           query_string={"last_pulled_at": mum.last_pulled_at, "device_id": "mumphone1"})
    assert response.status_code == 200


@pytest.mark.config(MAX_CONTENT_LENGTH=8 * 1024 * 1024)
def test_a_push_of_5000_records_works(app, phones, family):
    mum, dad = phones
    child_id = family["child"]["id"]
    episodes = [raw_episode(f"ep{i}", child_id, started_at=NIGHT_MS - i * 60_000) for i in range(4300)]
    sleeps = [raw_sleep(f"sl{i}", child_id, started_at=NIGHT_MS - i * 5_400_000,
                        ended_at=NIGHT_MS - i * 5_400_000 + 3600_000) for i in range(700)]
    assert mum.push(changes(episodes={"created": episodes}, sleep_sessions={"created": sleeps})).status_code == 200
    assert episode_count(app) == 4300
    pulled = dad.pull()
    assert len(pulled["episodes"]["created"]) == 4300 and len(pulled["sleep_sessions"]["created"]) == 700


def test_an_oversize_push_is_a_clear_413(app, phones, family):
    mum, _ = phones
    episodes = [raw_episode(f"ep{i}", family["child"]["id"], notes="x" * 1000) for i in range(100)]
    error = assert_error(mum.push(changes(episodes={"created": episodes})), 413)
    assert "limit" in error["message"]
    assert episode_count(app) == 0


def test_sync_needs_a_token(client):
    assert_error(client.get("/api/v1/sync"), 401)
    assert_error(client.post("/api/v1/sync", data="{}"), 401)


def test_pull_arguments_are_checked(client, family):
    headers = family["owner"].headers
    assert_error(client.get("/api/v1/sync", query_string={"last_pulled_at": "yesterday"}, headers=headers),
                 422, field="last_pulled_at")
    assert_error(client.get("/api/v1/sync", query_string={"schema_version": 3}, headers=headers),
                 422, field="schema_version")

