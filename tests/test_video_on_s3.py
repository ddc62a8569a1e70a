"""The issue's "done when" on `s3` storage, on both databases: a parent's clip, cut off mid-upload and
resumed, reaches the clinician's dashboard playable and without its GPS tag, and deleting the episode
leaves no object in the bucket. The storage is moto's real S3 server (tests/s3_server.py), never a mock.
"""
import hashlib
from pathlib import Path

import pytest

from tests.dashboard_helpers import Browser, elements
from tests.s3_server import s3_bucket, s3_client, s3_endpoint  # noqa: F401
from tests.video_clips import make_clip
from tests.video_helpers import create, head, new_episode, patch, process


@pytest.fixture
def s3_app(app, s3_endpoint, s3_bucket):  # noqa: F811
    app.config.update(VIDEO_STORAGE="s3", S3_ENDPOINT_URL=s3_endpoint, S3_BUCKET=s3_bucket)
    app.extensions.pop("video_storage", None)
    return app


def objects(endpoint: str, bucket: str) -> list[str]:
    listed = s3_client(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_a_resumed_upload_plays_on_the_dashboard_from_s3_without_its_gps_tag(
        s3_app, client, family, tmp_path, s3_endpoint, s3_bucket):  # noqa: F811
    owner, clinician = family["owner"], family["clinician"]
    episode = new_episode(client, owner, family["child"]["id"])
    clip = Path(make_clip(tmp_path / "clip.mov", container="mov", gps=True)).read_bytes()
    assert b"+48.8584" in clip
    assert create(client, owner, episode, len(clip)).status_code == 201
    assert patch(client, owner, "clip1", 0, clip[:5000]).status_code == 204  # then the connection broke
    offset = int(head(client, owner, "clip1").headers["Upload-Offset"])
    assert patch(client, owner, "clip1", offset, clip[offset:]).status_code == 204
    assert [key.split("/")[0] for key in objects(s3_endpoint, s3_bucket)] == ["uploads", "uploads"]
    assert "1 ready" in process(s3_app)
    assert objects(s3_endpoint, s3_bucket) == ["videos/clip1/poster.jpg", "videos/clip1/video.mp4"]

    browser = Browser(s3_app.test_client())
    browser.sign_in(clinician.email)
    page = browser.page(f"/dashboard/children/{family['child']['id']}")
    (source,) = elements(page, "source")
    played = browser.client.get(source["src"], headers={"Range": "bytes=0-"})
    assert played.status_code == 206 and played.data[4:8] == b"ftyp"
    assert b"+48.8584" not in played.data
    stored = s3_client(s3_endpoint).get_object(Bucket=s3_bucket, Key="videos/clip1/video.mp4")["Body"].read()
    assert hashlib.sha256(played.data).digest() == hashlib.sha256(stored).digest()

    assert client.delete(f"/api/v1/episodes/{episode}", headers=owner.headers).status_code == 204
    assert objects(s3_endpoint, s3_bucket) == []
