"""Episode videos and the family's privacy: the family document lists them, `flask data export --with-media`
carries their files in one zip that `flask data import` restores, and no file outlives its record when a
child or an account is deleted and purged. On SQLite and PostgreSQL, with real clips processed by the job.
"""
import hashlib
import json
import os
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from backend.db_types import utcnow
from backend.extensions import db
from tests import helpers
from tests.helpers import PASSWORD, run_sql
from tests.sync_helpers import Phone, ids
from tests.test_video_uploads import media_files
from tests.video_clips import make_clip
from tests.video_helpers import create, new_episode, patch, process, upload

RETENTION_DAYS = 30
VIDEO_FIELDS = {"id", "episode_id", "status", "content_type", "size_bytes", "duration_ms", "width", "height",
                "uploaded_by", "created_at", "updated_at", "content_url", "poster_url", "sync"}
INTERNALS = ("media_key", "poster_key", "upload_offset", "upload_length", "filename", "declared_type", "writer",
             "claimed_until", "attempts", "sha256", "files_removed_at", "rejected_reason")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    path = make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=2.0, gps=True)
    return Path(path).read_bytes()


@pytest.fixture
def filmed(app, client, family, clip):
    """The family's child with one episode filmed (`clip1`, ready) and another upload half sent (`half`)."""
    owner, child_id = family["owner"], family["child"]["id"]
    episode = new_episode(client, owner, child_id)
    upload(client, owner, episode, clip, video_id="clip1")
    assert "1 ready" in process(app)
    assert create(client, owner, episode, 5000, video_id="half").status_code == 201
    assert patch(client, owner, "half", 0, b"x" * 1000).status_code == 204
    return {**family, "episode": episode}


@pytest.fixture
def fresh_app(request, database_url, tmp_path):
    """An app on an empty, migrated database of its own (the same backend as `app`) and its own media folder."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with helpers.fresh_app(request, backend, tmp_path) as target:
        yield target


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def served(client, headers: dict, video_id: str) -> tuple[bytes, bytes]:
    """The MP4 and the poster the server plays, asserting both answer 200."""
    content = client.get(f"/api/v1/videos/{video_id}/content", headers=headers)
    poster = client.get(f"/api/v1/videos/{video_id}/poster.jpg", headers=headers)
    assert content.status_code == 200 and poster.status_code == 200, (content.status_code, poster.status_code)
    return content.data, poster.data


def export_archive(app, email: str, path: Path):
    result = app.test_cli_runner().invoke(args=["data", "export", "--email", email, "--with-media", "--out", str(path)])
    assert result.exit_code == 0, result.output
    return result


def import_file(app, path: Path):
    return app.test_cli_runner().invoke(args=["data", "import", str(path)])


def signed_in(app, email: str) -> dict:
    result = app.test_cli_runner().invoke(args=["users", "set-password", email, "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    token = app.test_client().post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).json["token"]
    return {"Authorization": f"Bearer {token}"}


def purge(app, days_from_now: float) -> str:
    now = (utcnow() + timedelta(days=days_from_now)).isoformat()
    result = app.test_cli_runner().invoke(args=["data", "purge", "--now", now])
    assert result.exit_code == 0, result.output
    return result.output


def count(app, table: str, where: str = "1=1", **params) -> int:
    return run_sql(app, f"SELECT count(*) FROM {table} WHERE {where}", **params).scalar()


def delete_me(client, account):
    return client.delete("/api/v1/me", json={"password": PASSWORD}, headers=account.headers)


# ---- the family document --------------------------------------------------------------------------

def test_the_family_document_lists_each_childs_videos_without_storage_keys_or_upload_internals(
        client, filmed, clip):
    owner = filmed["owner"]
    response = client.get("/api/v1/me/export", headers=owner.headers)
    assert response.status_code == 200
    [child] = response.json["children"]
    videos = {video["id"]: video for video in child["videos"]}
    assert set(videos) == {"clip1", "half"}
    ready, half = videos["clip1"], videos["half"]
    assert set(ready) == VIDEO_FIELDS and set(half) == VIDEO_FIELDS
    assert (ready["episode_id"], ready["status"], ready["content_type"]) == (filmed["episode"], "ready", "video/mp4")
    assert (ready["width"], ready["height"], ready["uploaded_by"]) == (320, 240, owner.id)
    assert 1900 <= ready["duration_ms"] <= 2100 and ready["created_at"]
    assert ready["content_url"] == "/api/v1/videos/clip1/content"
    assert ready["poster_url"] == "/api/v1/videos/clip1/poster.jpg"
    content, _ = served(client, owner.headers, "clip1")
    assert ready["size_bytes"] == len(content)
    assert (half["status"], half["content_url"], half["poster_url"]) == ("uploading", None, None)

    text = response.get_data(as_text=True)
    assert '"videos/' not in text and "video.mp4" not in text and "uploads/" not in text, "no storage key"
    assert "clip.mp4" not in text, "nor the file name the phone announced"
    assert not [key for video in child["videos"] for key in video if key in INTERNALS]
    assert sha(clip) not in text, "the uploaded file's hash is the upload's, not the family's"


def test_a_deleted_video_is_not_in_the_document(client, filmed):
    owner = filmed["owner"]
    assert client.delete("/api/v1/videos/clip1", headers=owner.headers).status_code == 204
    [child] = client.get("/api/v1/me/export", headers=owner.headers).json["children"]
    assert [video["id"] for video in child["videos"]] == ["half"]


# ---- the archive -----------------------------------------------------------------------------------

def test_export_with_media_writes_one_zip_of_the_document_and_each_ready_videos_files(
        app, client, filmed, tmp_path):
    owner = filmed["owner"]
    path = tmp_path / "family.zip"
    export_archive(app, owner.email, path)
    assert path.stat().st_mode & 0o777 == 0o600, "a family's videos: the operator's eyes only"
    assert not list(tmp_path.glob("*.partial"))
    content, poster = served(client, owner.headers, "clip1")
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["family.json", "videos/clip1.jpg", "videos/clip1.mp4"]
        assert archive.getinfo("videos/clip1.mp4").compress_type == zipfile.ZIP_STORED, "an MP4 is compressed"
        assert archive.read("videos/clip1.mp4") == content and archive.read("videos/clip1.jpg") == poster
        document = json.loads(archive.read("family.json"))
    assert document["format"] == "myodiary-family" and document["account"]["email"] == owner.email
    assert {video["id"] for video in document["children"][0]["videos"]} == {"clip1", "half"}


def test_export_with_media_needs_a_file_to_write(app, filmed):
    result = app.test_cli_runner().invoke(args=["data", "export", "--email", filmed["owner"].email,
                                                "--with-media"])
    assert result.exit_code != 0 and "--out" in result.output


def test_the_archive_imported_into_a_fresh_database_plays_the_same_bytes(app, client, filmed, fresh_app, tmp_path):
    owner = filmed["owner"]
    content, poster = served(client, owner.headers, "clip1")
    export_archive(app, owner.email, tmp_path / "family.zip")

    result = import_file(fresh_app, tmp_path / "family.zip")
    assert result.exit_code == 0, result.output
    assert f"Imported {owner.email}" in result.output and "videos 1" in result.output
    assert "1 video was not restored" in result.output and "half" in result.output, "the upload in progress"

    headers, target = signed_in(fresh_app, owner.email), fresh_app.test_client()
    again_content, again_poster = served(target, headers, "clip1")
    assert sha(again_content) == sha(content) and sha(again_poster) == sha(poster)
    part = target.get("/api/v1/videos/clip1/content", headers={**headers, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == content[100:200]
    video = target.get("/api/v1/videos/clip1", headers=headers).json
    assert (video["status"], video["episode_id"], video["size_bytes"]) == ("ready", filmed["episode"], len(content))
    assert target.get("/api/v1/videos/half", headers=headers).status_code == 404
    assert sorted(p.name for p in media_files(fresh_app)) == ["poster.jpg", "video.mp4"]

    restored = target.get("/api/v1/me/export", headers=headers).json
    assert [v["id"] for v in restored["children"][0]["videos"]] == ["clip1"]


def test_a_family_deleted_and_purged_comes_back_from_its_archive_with_its_videos(app, client, filmed, tmp_path):
    owner, child_id = filmed["owner"], filmed["child"]["id"]
    content, poster = served(client, owner.headers, "clip1")
    export_archive(app, owner.email, tmp_path / "family.zip")
    assert delete_me(client, owner).status_code == 204
    purge(app, RETENTION_DAYS + 1)
    assert media_files(app) == [] and count(app, "episode_videos") == 0
    assert count(app, "children", "id = :c", c=child_id) == 0
    for person in ("caregiver", "clinician"):  # the co-carers' accounts stay; the family's people are linked
        assert count(app, "users", "id = :u", u=filmed[person].id) == 1

    result = import_file(app, tmp_path / "family.zip")
    assert result.exit_code == 0, result.output
    headers = signed_in(app, owner.email)
    assert served(client, headers, "clip1") == (content, poster)
    assert sha(served(client, filmed["caregiver"].headers, "clip1")[0]) == sha(content)


def test_export_and_import_stream_the_files_instead_of_holding_a_video_in_memory(app, filmed, fresh_app, tmp_path):
    big = 24 * 1024 * 1024
    [stored] = [path for path in media_files(app) if path.name == "video.mp4"]
    with stored.open("wb") as file:  # a long clip's worth of bytes, as processing would have stored them
        for _ in range(big // (1024 * 1024)):
            file.write(os.urandom(1024 * 1024))
    run_sql(app, "UPDATE episode_videos SET size_bytes = :size WHERE id = 'clip1'", size=big)

    tracemalloc.start()
    try:
        export_archive(app, filmed["owner"].email, tmp_path / "family.zip")
        exported = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        result = import_file(fresh_app, tmp_path / "family.zip")
        imported = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    assert exported < big / 4 and imported < big / 4, (exported, imported)
    [restored] = [path for path in media_files(fresh_app) if path.name == "video.mp4"]
    assert sha(restored.read_bytes()) == sha(stored.read_bytes())


def test_the_plain_document_still_imports_and_says_which_videos_it_could_not_bring(app, filmed, fresh_app, tmp_path):
    owner = filmed["owner"]
    plain = app.test_cli_runner().invoke(args=["data", "export", "--email", owner.email,
                                               "--out", str(tmp_path / "family.json")])
    assert plain.exit_code == 0, plain.output
    text = (tmp_path / "family.json").read_text()
    result = fresh_app.test_cli_runner().invoke(args=["data", "import", "-"], input=text)  # from stdin, as before
    assert result.exit_code == 0, result.output
    assert "2 videos were not restored" in result.output and "--with-media" in result.output
    headers = signed_in(fresh_app, owner.email)
    target = fresh_app.test_client()
    assert target.get(f"/api/v1/episodes/{filmed['episode']}", headers=headers).status_code == 200
    assert target.get("/api/v1/videos/clip1", headers=headers).status_code == 404
    assert count(fresh_app, "episode_videos") == 0 and media_files(fresh_app) == []


def _spoil(path: Path, how: str) -> Path:
    """A copy of the archive without the MP4, or with 16 bytes of the poster zeroed (its CRC no longer
    matches; the MP4 before it is copied whole first, and must be removed again)."""
    spoilt = path.with_name(f"spoilt-{how.replace(' ', '-')}.zip")
    with zipfile.ZipFile(path) as source:
        members = {info.filename: (info, source.read(info)) for info in source.infolist()}
    with zipfile.ZipFile(spoilt, "w") as target:
        for name, (info, data) in members.items():
            if not (how == "missing video" and name == "videos/clip1.mp4"):
                target.writestr(info, data)
    if how == "damaged poster":
        raw, scan = bytearray(spoilt.read_bytes()), members["videos/clip1.jpg"][1][-200:-184]
        at = raw.find(scan)
        assert at > 0 and raw.count(scan) == 1
        raw[at:at + 16] = bytes(16)
        spoilt.write_bytes(bytes(raw))
    return spoilt


@pytest.mark.parametrize("how, says", [("missing video", "lacks videos/clip1.mp4"),
                                       ("damaged poster", "videos/clip1.jpg in the archive is damaged (Bad CRC-32")])
def test_an_archive_missing_or_damaging_a_video_imports_nothing_and_leaves_no_file(
        app, filmed, fresh_app, tmp_path, how, says):
    export_archive(app, filmed["owner"].email, tmp_path / "family.zip")
    result = import_file(fresh_app, _spoil(tmp_path / "family.zip", how))
    assert result.exit_code != 0 and says in result.output, result.output
    assert "nothing was imported" in result.output
    assert count(fresh_app, "users") == 0 and count(fresh_app, "episode_videos") == 0
    assert media_files(fresh_app) == []


def test_an_archive_of_a_family_already_here_is_refused_and_its_files_stay_as_they_were(
        app, client, filmed, tmp_path):
    owner = filmed["owner"]
    before = {path: path.read_bytes() for path in media_files(app)}
    export_archive(app, owner.email, tmp_path / "family.zip")
    result = import_file(app, tmp_path / "family.zip")
    assert result.exit_code != 0 and "does not merge" in result.output
    assert {path: path.read_bytes() for path in media_files(app)} == before
    served(client, owner.headers, "clip1")


# ---- deletion and the purge ------------------------------------------------------------------------

def test_deleting_a_child_removes_its_video_files_and_rows_at_the_purge(app, client, filmed):
    owner, child_id = filmed["owner"], filmed["child"]["id"]
    assert client.delete(f"/api/v1/children/{child_id}", headers=owner.headers).status_code == 204
    assert client.get("/api/v1/videos/clip1/content", headers=owner.headers).status_code == 404
    purge(app, RETENTION_DAYS - 1)
    assert media_files(app), "kept, as the child's rows are, until the retention period ends"
    purge(app, RETENTION_DAYS + 1)
    assert media_files(app) == []
    assert count(app, "episode_videos", "child_id = :c", c=child_id) == 0
    assert count(app, "upload_chunks") == 0 and count(app, "episodes", "child_id = :c", c=child_id) == 0


def test_deleting_the_account_removes_its_childrens_video_files_and_keeps_what_it_filmed_for_others(
        app, api, client, filmed, clip):
    owner, second, child_id = filmed["owner"], filmed["caregiver"], filmed["child"]["id"]
    noah = api.create_child(second, name="Noah")
    api.join(second, noah["id"], owner)
    upload(client, owner, new_episode(client, owner, noah["id"]), clip, video_id="noah-clip")
    assert "1 ready" in process(app)
    filmed_for_noah = served(client, second.headers, "noah-clip")
    assert delete_me(client, owner).status_code == 204
    purge(app, RETENTION_DAYS + 1)

    assert count(app, "episode_videos", "child_id = :c", c=child_id) == 0
    assert [p.parent.name for p in media_files(app)] == ["noah-clip", "noah-clip"]
    assert served(client, second.headers, "noah-clip") == filmed_for_noah
    assert count(app, "users", "id = :u", u=owner.id) == 1, "a nameless row: the video it filmed names it"
    assert client.get("/api/v1/videos/noah-clip", headers=second.headers).json["uploaded_by"] == owner.id


def test_the_purge_removes_the_files_of_deleted_videos_still_left(app, client, filmed):
    from backend.videos import lifecycle
    from backend.videos.models import EpisodeVideo

    with app.app_context():  # deleted, committed, then the process died before its sweep
        lifecycle.delete_videos([db.session.get(EpisodeVideo, "clip1")])
        db.session.commit()
    assert len(media_files(app)) == 3  # the MP4, the poster, the half upload's chunk
    assert "files of 1 deleted videos removed" in purge(app, 0)
    assert [p.parent.name for p in media_files(app)] == ["half"]
    assert count(app, "episode_videos", "id = 'clip1' AND files_removed_at IS NOT NULL") == 1


def test_a_child_whose_video_is_being_processed_is_purged_once_the_processing_ends(app, client, filmed):
    owner, child_id = filmed["owner"], filmed["child"]["id"]
    run_sql(app, "UPDATE episode_videos SET status = 'processing', claimed_until = :until WHERE id = 'half'",
            until=utcnow() + timedelta(minutes=10))  # a worker is writing its files right now
    assert client.delete(f"/api/v1/children/{child_id}", headers=owner.headers).status_code == 204
    assert purge(app, RETENTION_DAYS + 1).startswith("purged 0 children")
    assert count(app, "children", "id = :c", c=child_id) == 1
    run_sql(app, "UPDATE episode_videos SET claimed_until = :then WHERE id = 'half'",
            then=utcnow() - timedelta(minutes=1))  # the claim ran out: that pass is over
    assert purge(app, RETENTION_DAYS + 1).startswith("purged 1 children")
    assert media_files(app) == [] and count(app, "episode_videos") == 0


def test_a_phone_asleep_through_the_retention_period_hears_that_the_purged_childs_videos_are_gone(
        app, client, filmed):
    second, child_id = filmed["caregiver"], filmed["child"]["id"]
    asleep, older = Phone(client, second, "asleep-phone", schema_version=2), Phone(client, second, "version-1")
    held = ids(asleep.pull()["episode_videos"], "created")
    assert "clip1" in held
    older.pull()
    assert client.delete(f"/api/v1/children/{child_id}", headers=filmed["owner"].headers).status_code == 204
    purge(app, RETENTION_DAYS + 1)
    late = asleep.pull()
    assert late["children"]["deleted"] == [child_id]
    assert set(late["episode_videos"]["deleted"]) == held and filmed["episode"] in late["episodes"]["deleted"]
    assert "episode_videos" not in older.pull(), "a version-1 phone never hears of videos"
