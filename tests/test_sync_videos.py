"""Sync schema version 2: `episode_videos` through the WatermelonDB protocol, as a phone sees it over HTTP.

Videos are made by the tus upload only (tests/video_helpers.py); a version-2 pull carries their rows, a
migration pull from version 1 carries every one the user may see, a version-1 phone never hears of them.
A phone may delete a video by push (and an episode it deletes takes its videos along), never create or
change one.
"""
import json
from pathlib import Path

import pytest

from backend.extensions import db
from backend.videos.models import EpisodeVideo
from tests.helpers import assert_error, clock_held, run_sql
from tests.sync_helpers import MIGRATION_FROM_1, V1_TABLES, V2_TABLES, Phone, changes, ids, raw_episode
from tests.test_video_uploads import media_files
from tests.video_clips import make_clip
from tests.video_helpers import create, new_episode, patch, process, upload

VIDEO_COLUMNS = {"id", "episode_id", "child_id", "status", "rejected_reason", "content_type", "size_bytes",
                 "duration_ms", "width", "height", "uploaded_by", "created_at", "updated_at"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    return Path(make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=1.0)).read_bytes()


@pytest.fixture
def episode(client, family):
    return new_episode(client, family["owner"], family["child"]["id"])


def v2_phone(client, account, device_id: str, pull: bool = True) -> Phone:
    phone = Phone(client, account, device_id, schema_version=2)
    if pull:
        phone.pull()
    return phone


def video_row(app, video_id: str) -> EpisodeVideo | None:
    with app.app_context():
        video = db.session.get(EpisodeVideo, video_id)
        db.session.expunge_all()
        return video


def files_of(app, video_id: str) -> list[Path]:
    return [path for path in media_files(app) if video_id in path.parts]


# ---- pull -------------------------------------------------------------------------------------------

def test_a_v2_pull_sees_the_video_appear_then_each_status_as_an_update(client, app, family, episode, clip):
    owner, child_id = family["owner"], family["child"]["id"]
    phone = v2_phone(client, family["caregiver"], "dadphone1")
    assert create(client, owner, episode, len(clip)).status_code == 201

    pulled = phone.pull()
    assert set(pulled) == {*V1_TABLES, *V2_TABLES}
    (video,) = pulled["episode_videos"]["created"]
    assert set(video) == VIDEO_COLUMNS  # nothing of the upload's internals, no _status/_changed
    assert video["id"] == "clip1" and video["status"] == "uploading" and video["episode_id"] == episode
    assert video["child_id"] == child_id and video["uploaded_by"] == owner.id
    assert video["size_bytes"] == len(clip) and video["content_type"] is None
    assert isinstance(video["created_at"], int) and isinstance(video["updated_at"], int)
    assert pulled["treatments"] == pulled["development_checks"] == {"created": [], "updated": [], "deleted": []}

    assert patch(client, owner, "clip1", 0, clip).status_code == 204
    pulled = phone.pull()
    assert [v["status"] for v in pulled["episode_videos"]["updated"]] == ["processing"]
    assert not pulled["episode_videos"]["created"]

    process(app)
    pulled = phone.pull()
    (ready,) = pulled["episode_videos"]["updated"]
    assert ready["status"] == "ready" and ready["content_type"] == "video/mp4"
    assert ready["duration_ms"] > 500 and (ready["width"], ready["height"]) == (320, 240)
    assert ready["rejected_reason"] is None and ready["updated_at"] >= video["updated_at"]
    assert not any(phone.pull()["episode_videos"].values())  # nothing new since


def test_a_rejected_video_reaches_the_phone_with_its_reason(client, app, family, episode):
    phone = v2_phone(client, family["owner"], "mumphone1")
    upload(client, family["owner"], episode, b"%PDF-1.4 not a video at all" * 40)
    phone.pull()
    process(app)
    (rejected,) = phone.pull()["episode_videos"]["updated"]
    assert rejected["status"] == "rejected" and rejected["rejected_reason"]


def test_a_v1_pull_never_holds_episode_videos(client, app, family, episode, clip):
    phone = Phone(client, family["caregiver"], "oldphone1")
    phone.pull()
    upload(client, family["owner"], episode, clip)
    for pulled in (phone.pull(), phone.pull(None)):
        assert set(pulled) == set(V1_TABLES)
    process(app)
    assert set(phone.pull()) == set(V1_TABLES)
    response = client.get("/api/v1/sync", headers=family["owner"].headers)  # no schema_version: version 1
    assert set(response.json["changes"]) == set(V1_TABLES)


def test_a_migration_pull_from_v1_sends_every_video_the_user_may_see(client, api, app, family, episode, clip):
    owner = family["owner"]
    upload(client, owner, episode, clip, video_id="kept")
    upload(client, owner, episode, b"x" * 100, video_id="gone")
    assert client.delete("/api/v1/videos/gone", headers=owner.headers).status_code == 204
    stranger = api.register("caregiver")
    strangers_child = api.create_child(stranger)
    upload(client, stranger, new_episode(client, stranger, strangers_child["id"]), b"y" * 100, video_id="theirs")
    process(app)

    phone = Phone(client, family["caregiver"], "dadphone1")  # on version 1 until now
    with clock_held(app):
        phone.pull()
        first = phone.last_pulled_at
        phone.schema_version = 2
        pulled = phone.pull(migration=MIGRATION_FROM_1)  # nothing written since: the clock stands at `first`
    assert phone.last_pulled_at == first
    assert [v["id"] for v in pulled["episode_videos"]["created"]] == ["kept"]
    assert pulled["episode_videos"]["created"][0]["status"] == "ready"
    assert not pulled["episode_videos"]["updated"] and not pulled["episode_videos"]["deleted"]
    assert all(not any(pulled[table].values()) for table in (*V1_TABLES, "treatments", "development_checks"))
    assert not any(phone.pull()["episode_videos"].values())  # the migration is done: back to changes only


def test_a_migration_pull_still_sends_the_changes_of_the_v1_tables(client, family, episode, clip):
    phone = Phone(client, family["owner"], "mumphone1")
    phone.pull()
    upload(client, family["owner"], episode, clip)
    second = new_episode(client, family["owner"], family["child"]["id"])
    phone.schema_version = 2
    pulled = phone.pull(migration={"from": 1, "tables": ["episode_videos"], "columns": []})
    assert ids(pulled["episodes"], "created") == {second}
    assert ids(pulled["episode_videos"], "created") == {"clip1"}


def test_a_migration_pull_of_a_clinician_sends_the_videos_it_may_read(client, family, episode):
    upload(client, family["owner"], episode, b"x" * 100)
    phone = Phone(client, family["clinician"], "clinicphone")
    phone.pull()
    phone.schema_version = 2
    assert ids(phone.pull(migration=MIGRATION_FROM_1)["episode_videos"], "created") == {"clip1"}


@pytest.mark.parametrize("schema_version", ["3", "0", "two", "99999999999999999999"])
def test_an_unknown_schema_version_is_a_422_naming_it(client, family, schema_version):
    response = client.get("/api/v1/sync", headers=family["owner"].headers,
                          query_string={"schema_version": schema_version, "migration": "null"})
    assert_error(response, 422, field="schema_version")


@pytest.mark.parametrize("migration", [
    "{not json",
    "[]",
    '"episode_videos"',
    '{"from": 1}',
    '{"from": 1, "tables": ["episode_videos"]}',
    '{"from": 1, "tables": "episode_videos", "columns": []}',
    '{"from": 1, "tables": ["children"], "columns": []}',  # not added by version 2
    '{"from": 1, "tables": ["strangers"], "columns": []}',
    '{"from": 1, "tables": [1], "columns": []}',
    '{"from": 2, "tables": ["episode_videos"], "columns": []}',
    '{"from": 0, "tables": ["episode_videos"], "columns": []}',
    '{"from": "1", "tables": ["episode_videos"], "columns": []}',
    '{"from": 1, "tables": [], "columns": [{"table": "episodes", "columns": ["mood"]}]}',
    '{"from": 1, "tables": [], "columns": ["episodes"]}',
    '{"from": 1, "tables": [], "columns": [], "extra": true}',
])
def test_a_bad_migration_is_a_422_naming_it(client, family, migration):
    response = client.get("/api/v1/sync", headers=family["owner"].headers, query_string={
        "last_pulled_at": 5, "schema_version": 2, "migration": migration})
    assert_error(response, 422, field="migration")


def test_a_migration_to_version_1_is_a_422(client, family):
    response = client.get("/api/v1/sync", headers=family["owner"].headers, query_string={
        "schema_version": 1, "migration": json.dumps(MIGRATION_FROM_1)})
    assert_error(response, 422, field="migration")


@pytest.mark.parametrize("migration", [None, "null", "", "undefined"])
def test_no_migration_is_a_plain_pull(client, family, migration):
    query = {"schema_version": 2} if migration is None else {"schema_version": 2, "migration": migration}
    response = client.get("/api/v1/sync", headers=family["owner"].headers, query_string=query)
    assert response.status_code == 200 and "episode_videos" in response.json["changes"]


def test_a_v2_pull_with_nothing_new_reads_no_diary_table(app, client, family, episode):
    from tests.helpers import statements_of

    phone = v2_phone(client, family["owner"], "mumphone1")
    with clock_held(app):
        phone.pull()
        read = statements_of(app, lambda: phone.pull())
    assert read and not [s for s in read if "episode" in s or "sleep_sessions" in s or "purged" in s]


def test_a_removed_member_gets_only_the_videos_its_phone_may_hold_in_deleted(client, family, episode):
    owner, dad = family["owner"], family["caregiver"]
    upload(client, owner, episode, b"x" * 100, video_id="held")
    phone = v2_phone(client, dad, "dadphone1")
    upload(client, owner, episode, b"x" * 100, video_id="unseen")
    response = client.delete(f"/api/v1/children/{family['child']['id']}/members/{dad.id}", headers=owner.headers)
    assert response.status_code == 204
    upload(client, owner, episode, b"x" * 100, video_id="after")
    pulled = phone.pull()
    assert pulled["episode_videos"] == {"created": [], "updated": [], "deleted": ["held"]}


def test_a_deleted_child_takes_its_videos_from_the_phones(client, family, episode):
    upload(client, family["owner"], episode, b"x" * 100)
    phone = v2_phone(client, family["caregiver"], "dadphone1")
    assert client.delete(f"/api/v1/children/{family['child']['id']}",
                         headers=family["owner"].headers).status_code == 204
    assert phone.pull()["episode_videos"]["deleted"] == ["clip1"]


# ---- push -------------------------------------------------------------------------------------------

def test_a_pushed_deletion_deletes_the_video_and_its_files(client, app, family, episode, clip):
    upload(client, family["owner"], episode, clip)
    process(app)
    assert files_of(app, "clip1")
    mum, dad = v2_phone(client, family["owner"], "mumphone1"), v2_phone(client, family["caregiver"], "dadphone1")
    response = dad.push(changes(schema_version=2, episode_videos={"deleted": ["clip1"]}))
    assert response.status_code == 200, response.json
    assert files_of(app, "clip1") == []
    assert video_row(app, "clip1").deleted_at is not None
    assert client.get("/api/v1/videos/clip1", headers=family["owner"].headers).status_code == 404
    assert mum.pull()["episode_videos"] == {"created": [], "updated": [], "deleted": ["clip1"]}
    assert dad.pull()["episode_videos"]["deleted"] == ["clip1"]


def test_a_repeated_deletion_after_a_lost_reply_is_no_conflict(client, app, family, episode):
    upload(client, family["owner"], episode, b"x" * 100)
    phone = v2_phone(client, family["caregiver"], "dadphone1")
    body = changes(schema_version=2, episode_videos={"deleted": ["clip1"]})
    assert phone.push(body).status_code == 200
    assert phone.push(body).status_code == 200  # the first reply never reached the phone


def test_a_deletion_of_a_video_changed_since_the_last_pull_is_a_409(client, app, family, episode, clip):
    upload(client, family["owner"], episode, clip)
    phone = v2_phone(client, family["caregiver"], "dadphone1")
    process(app)  # processing -> ready after the phone's pull
    body = changes(schema_version=2, episode_videos={"deleted": ["clip1"]})
    error = assert_error(phone.push(body), 409)
    assert list(error["errors"]) == ["episode_videos"] and "clip1" in error["errors"]["episode_videos"]
    assert video_row(app, "clip1").deleted_at is None and files_of(app, "clip1")
    phone.pull()
    assert phone.push(body).status_code == 200 and files_of(app, "clip1") == []


@pytest.mark.parametrize("kind", ["created", "updated"])
def test_a_pushed_video_record_is_a_422_naming_the_table_and_nothing_is_stored(client, app, family, episode, kind):
    upload(client, family["owner"], episode, b"x" * 100)
    phone = v2_phone(client, family["owner"], "mumphone1")
    video = phone.pull(None)["episode_videos"]["created"][0]
    record = {**video, "id": "clip1" if kind == "updated" else "madeup", "status": "ready", "_status": kind}
    body = changes(schema_version=2, episodes={"created": [raw_episode("ep-new", family["child"]["id"])]},
                   episode_videos={kind: [record]})
    error = assert_error(phone.push(body), 422, field="episode_videos")
    assert "uploading" in error["message"]
    assert run_sql(app, "SELECT count(*) FROM episodes WHERE id = 'ep-new'").scalar() == 0
    assert video_row(app, "madeup") is None and video_row(app, "clip1").status == "processing"


def test_a_push_with_the_empty_v2_tables_is_accepted(client, family):
    phone = v2_phone(client, family["owner"], "mumphone1")
    body = changes(schema_version=2, episodes={"created": [raw_episode("ep1", family["child"]["id"])]})
    assert set(body) == {*V1_TABLES, *V2_TABLES}
    assert phone.push(body).status_code == 200


def test_deleting_an_episode_by_push_deletes_its_videos_and_files(client, app, family, episode, clip):
    upload(client, family["owner"], episode, clip, video_id="one")
    upload(client, family["owner"], episode, b"x" * 100, video_id="two")
    process(app)
    mum, dad = v2_phone(client, family["owner"], "mumphone1"), v2_phone(client, family["caregiver"], "dadphone1")
    assert dad.push(changes(schema_version=2, episodes={"deleted": [episode]})).status_code == 200
    assert files_of(app, "one") == files_of(app, "two") == []
    assert video_row(app, "one").deleted_at is not None and video_row(app, "two").deleted_at is not None
    pulled = mum.pull()
    assert pulled["episodes"]["deleted"] == [episode]
    assert sorted(pulled["episode_videos"]["deleted"]) == ["one", "two"]


def test_a_clinician_cannot_delete_a_video_by_push(client, app, family, episode):
    upload(client, family["owner"], episode, b"x" * 100)
    phone = v2_phone(client, family["clinician"], "clinicphone")
    assert_error(phone.push(changes(schema_version=2, episode_videos={"deleted": ["clip1"]})), 403)
    assert video_row(app, "clip1").deleted_at is None and files_of(app, "clip1")


def test_a_member_who_may_not_write_the_child_gets_a_403_naming_the_video(client, app, family, episode):
    """The per-record rule the other tables follow (a caregiver account holding a read-only membership cannot
    be made through the API today: the membership is set in the database)."""
    upload(client, family["owner"], episode, b"x" * 100)
    dad = family["caregiver"]
    phone = v2_phone(client, dad, "dadphone1")
    run_sql(app, "UPDATE memberships SET role = 'clinician' WHERE user_id = :user_id", user_id=dad.id)
    error = assert_error(phone.push(changes(schema_version=2, episode_videos={"deleted": ["clip1"]})), 403)
    assert list(error["errors"]) == ["episode_videos"] and "clip1" in error["errors"]["episode_videos"]
    assert video_row(app, "clip1").deleted_at is None


def test_another_familys_video_id_in_deleted_is_ignored_and_leaks_nothing(client, api, app, family, episode):
    upload(client, family["owner"], episode, b"x" * 100)
    stranger = api.register("caregiver")
    api.create_child(stranger)
    phone = v2_phone(client, stranger, "strangerphone")
    response = phone.push(changes(schema_version=2, episode_videos={"deleted": ["clip1", "nosuchvideo"]}))
    assert response.status_code == 200 and response.json == {}
    assert video_row(app, "clip1").deleted_at is None and files_of(app, "clip1")
    pulled = phone.pull(None)
    assert "clip1" not in json.dumps(pulled) and family["child"]["id"] not in json.dumps(pulled)


@pytest.mark.parametrize(("table", "record"), [
    ("treatments", {"name": "Phenobarbital", "kind": "antiseizure_medication", "started_on": "2026-11-01"}),
    ("development_checks", {"checked_on": "2026-11-01", "new_skills": "yes", "lost_skills": "no",
                            "concerns": ""}),
])
def test_records_of_the_other_v2_tables_are_stored_with_the_push(client, app, family, table, record):
    phone = v2_phone(client, family["owner"], "mumphone1")
    body = changes(schema_version=2, episodes={"created": [raw_episode("ep-new", family["child"]["id"])]},
                   **{table: {"created": [{"id": "t1", "child_id": family["child"]["id"], **record}]}})
    response = phone.push(body)
    assert response.status_code == 200, response.json
    assert run_sql(app, "SELECT count(*) FROM episodes WHERE id = 'ep-new'").scalar() == 1
    assert run_sql(app, f"SELECT count(*) FROM {table} WHERE id = 't1'").scalar() == 1


def test_the_push_body_names_every_table_of_every_schema_version():
    from backend.sync.columns import SCHEMA_TABLES
    from backend.sync.schemas import ChangesSchema

    assert set(ChangesSchema().fields) == set(SCHEMA_TABLES) == {*V1_TABLES, *V2_TABLES}
