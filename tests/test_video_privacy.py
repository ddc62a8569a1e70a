"""Episode videos and the family's privacy: no file outlives its record when a child or an account is
deleted and purged. On SQLite and PostgreSQL, with real clips processed by the job.
"""
from datetime import timedelta
from pathlib import Path

import pytest

from backend.db_types import utcnow
from backend.extensions import db
from tests.helpers import PASSWORD, run_sql
from tests.test_video_uploads import media_files
from tests.video_clips import make_clip
from tests.video_helpers import create, new_episode, patch, process, upload

RETENTION_DAYS = 30


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


def served(client, headers: dict, video_id: str) -> tuple[bytes, bytes]:
    """The MP4 and the poster the server plays, asserting both answer 200."""
    content = client.get(f"/api/v1/videos/{video_id}/content", headers=headers)
    poster = client.get(f"/api/v1/videos/{video_id}/poster.jpg", headers=headers)
    assert content.status_code == 200 and poster.status_code == 200, (content.status_code, poster.status_code)
    return content.data, poster.data


def purge(app, days_from_now: float) -> str:
    now = (utcnow() + timedelta(days=days_from_now)).isoformat()
    result = app.test_cli_runner().invoke(args=["data", "purge", "--now", now])
    assert result.exit_code == 0, result.output
    return result.output


def count(app, table: str, where: str = "1=1", **params) -> int:
    return run_sql(app, f"SELECT count(*) FROM {table} WHERE {where}", **params).scalar()


def delete_me(client, account):
    return client.delete("/api/v1/me", json={"password": PASSWORD}, headers=account.headers)


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
