"""Episode videos through the API: the tus upload, processing by the scheduler's job, playback, deletion.

Clips are made by PyAV in the test (tests/video_clips.py); the storage is the default `local` one under the
test's instance folder (the `s3` backend runs the same contract against moto in tests/test_video_storage.py
and end to end in tests/test_video_clients.py).
"""
import hashlib
from pathlib import Path

import av
import pytest

from tests.helpers import assert_error
from tests.video_clips import make_clip, make_html, make_pdf, truncate
from tests.video_helpers import OCTETS, TUS, create, head, new_episode, patch, process, upload


@pytest.fixture
def episode(client, family):
    return new_episode(client, family["owner"], family["child"]["id"])


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    path = make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=2.0, gps=True)
    return Path(path).read_bytes()


def media_files(app) -> list[Path]:
    root = Path(app.config["MEDIA_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---- the tus protocol -------------------------------------------------------------------------

def test_options_says_what_the_server_speaks(client, app):
    response = client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert {"creation", "termination", "expiration"} <= set(response.headers["Tus-Extension"].split(","))
    assert int(response.headers["Tus-Max-Size"]) == app.config["VIDEO_MAX_BYTES"]


def test_an_upload_in_chunks_resumes_from_head_and_ends_processing(client, family, episode, clip):
    owner = family["owner"]
    created = create(client, owner, episode, len(clip))
    assert created.status_code == 201 and created.headers["Location"] == "/api/v1/uploads/clip1"
    assert created.headers["Tus-Resumable"] == "1.0.0" and "Upload-Expires" in created.headers
    assert patch(client, owner, "clip1", 0, clip[:1000]).headers["Upload-Offset"] == "1000"
    offset = head(client, owner, "clip1")
    assert offset.status_code == 200 and offset.headers["Upload-Offset"] == "1000"
    assert offset.headers["Upload-Length"] == str(len(clip)) and offset.headers["Cache-Control"] == "no-store"
    done = patch(client, owner, "clip1", 1000, clip[1000:])
    assert done.status_code == 204 and done.headers["Upload-Offset"] == str(len(clip))
    video = client.get("/api/v1/videos/clip1", headers=owner.headers).get_json()
    assert video["status"] == "processing" and video["size_bytes"] == len(clip)
    assert video["episode_id"] == episode and video["uploaded_by"] == owner.id


def test_a_retried_creation_answers_the_same_location(client, family, episode):
    first = create(client, family["owner"], episode, 5000)
    again = create(client, family["owner"], episode, 5000)
    assert again.status_code == 201 and again.headers["Location"] == first.headers["Location"]
    assert_error(create(client, family["owner"], episode, 6000), 409, "Upload-Metadata")
    assert_error(create(client, family["caregiver"], episode, 5000), 409, "Upload-Metadata")


def test_a_wrong_offset_is_a_conflict_and_stores_nothing(client, family, episode):
    create(client, family["owner"], episode, 5000)
    patch(client, family["owner"], "clip1", 0, b"x" * 100)
    body = assert_error(patch(client, family["owner"], "clip1", 50, b"y" * 100), 409, "Upload-Offset")
    assert "100" in body["message"]
    assert head(client, family["owner"], "clip1").headers["Upload-Offset"] == "100"


def test_a_length_over_the_limit_is_refused_before_any_byte(client, family, episode, app):
    response = create(client, family["owner"], episode, app.config["VIDEO_MAX_BYTES"] + 1)
    assert_error(response, 413, "Upload-Length")
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert client.get("/api/v1/videos/clip1", headers=family["owner"].headers).status_code == 404


@pytest.mark.config(VIDEO_QUOTA_BYTES_PER_CHILD=10_000)
def test_the_childs_quota_is_kept_at_creation(client, family, episode):
    assert create(client, family["owner"], episode, 6000, "one").status_code == 201
    assert "quota" in assert_error(create(client, family["owner"], episode, 6000, "two"), 413, "Upload-Length")[
        "errors"]["Upload-Length"][0]


def test_a_zero_byte_upload_is_refused_with_the_reason(client, family, episode):
    assert "empty" in assert_error(create(client, family["owner"], episode, 0), 422, "Upload-Length")[
        "errors"]["Upload-Length"][0]


@pytest.mark.parametrize("headers, field", [
    ({"Upload-Length": "abc"}, "Upload-Length"),
    ({"Upload-Length": "-5"}, "Upload-Length"),
    ({"Upload-Metadata": "id bm90IGFuIGlk"}, "Upload-Metadata"),  # no episode_id
    ({"Upload-Metadata": "id !!!,episode_id eA=="}, "Upload-Metadata"),  # not base64
])
def test_bad_creation_headers_name_the_header(client, family, episode, headers, field):
    base = {"Upload-Length": "100", "Upload-Metadata": f"id Y2xpcDE=,episode_id {_b64(episode)}"}
    response = client.post("/api/v1/uploads", headers={**family["owner"].headers, **TUS, **base, **headers})
    assert_error(response, 422, field)


def _b64(text: str) -> str:
    import base64
    return base64.b64encode(text.encode()).decode()


def test_without_tus_resumable_the_answer_is_412(client, family, episode):
    response = client.post("/api/v1/uploads", headers={**family["owner"].headers, "Upload-Length": "10"})
    assert_error(response, 412)
    assert response.headers["Tus-Version"] == "1.0.0"


def test_patch_needs_the_tus_content_type(client, family, episode):
    create(client, family["owner"], episode, 100)
    response = client.patch("/api/v1/uploads/clip1", data=b"x", headers={
        **family["owner"].headers, **TUS, "Upload-Offset": "0", "Content-Type": "video/mp4"})
    assert_error(response, 415)


def test_a_body_past_upload_length_is_refused_and_not_counted(client, family, episode):
    create(client, family["owner"], episode, 100)
    assert_error(patch(client, family["owner"], "clip1", 0, b"x" * 150), 413)
    assert head(client, family["owner"], "clip1").headers["Upload-Offset"] == "0"


def test_a_checksum_mismatch_keeps_nothing(client, family, episode):
    import base64
    create(client, family["owner"], episode, 100)
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    refused = patch(client, family["owner"], "clip1", 0, b"x" * 50, **{"Upload-Checksum": f"sha1 {wrong}"})
    assert refused.status_code == 460 and refused.get_json()["code"] == 460
    assert head(client, family["owner"], "clip1").headers["Upload-Offset"] == "0"
    right = base64.b64encode(hashlib.sha1(b"x" * 50).digest()).decode()
    kept = patch(client, family["owner"], "clip1", 0, b"x" * 50, **{"Upload-Checksum": f"sha1 {right}"})
    assert kept.status_code == 204


def test_only_caregivers_of_the_episode_may_upload(client, api, family, episode):
    assert_error(create(client, family["clinician"], episode, 100), 403)
    stranger = api.register("caregiver")
    assert_error(create(client, stranger, episode, 100), 404)
    assert_error(create(client, family["owner"], "no-such-episode", 100), 404)
    client.delete(f"/api/v1/episodes/{episode}", headers=family["owner"].headers)
    assert_error(create(client, family["owner"], episode, 100), 404)


def test_an_upload_belongs_to_its_uploader(client, api, family, episode):
    create(client, family["owner"], episode, 100)
    for other in (family["caregiver"], family["clinician"], api.register("caregiver")):
        assert_error(head_json(client, other), 404)
        assert_error(patch(client, other, "clip1", 0, b"x"), 404)


def head_json(client, account):
    """HEAD has no body: the same request as GET would be, to read its error."""
    return client.patch("/api/v1/uploads/clip1", data=b"", headers={
        **account.headers, **TUS, "Upload-Offset": "0", "Content-Type": OCTETS})


def test_terminating_an_upload_removes_its_bytes(client, app, family, episode):
    create(client, family["owner"], episode, 1000)
    patch(client, family["owner"], "clip1", 0, b"x" * 500)
    assert media_files(app)
    response = client.delete("/api/v1/uploads/clip1", headers={**family["owner"].headers, **TUS})
    assert response.status_code == 204
    assert media_files(app) == []
    assert client.get("/api/v1/videos/clip1", headers=family["owner"].headers).status_code == 404


def test_an_incomplete_upload_expires_and_its_bytes_go(client, app, family, episode):
    create(client, family["owner"], episode, 1000)
    patch(client, family["owner"], "clip1", 0, b"x" * 500)
    process(app)
    assert media_files(app)  # not expired yet
    result = app.test_cli_runner().invoke(args=["videos", "process", "--now", "2099-01-01T00:00:00+00:00"])
    assert "1 expired" in result.output
    assert media_files(app) == []
    video = client.get("/api/v1/videos/clip1", headers=family["owner"].headers).get_json()
    assert video["status"] == "rejected" and "24 hours" in video["rejected_reason"]
    assert_error(patch(client, family["owner"], "clip1", 500, b"x"), 410)


# ---- processing and playback --------------------------------------------------------------------

def test_a_clip_becomes_ready_playable_and_without_its_gps_tag(client, app, family, episode, clip):
    assert b"+48.8584" in clip  # the phone's position is really in the upload
    upload(client, family["owner"], episode, clip)
    assert "1 ready" in process(app)
    video = client.get("/api/v1/videos/clip1", headers=family["owner"].headers).get_json()
    assert video["status"] == "ready" and video["content_type"] == "video/mp4"
    assert 1900 <= video["duration_ms"] <= 2100 and (video["width"], video["height"]) == (320, 240)
    served = client.get(video["content_url"], headers=family["owner"].headers)
    assert served.status_code == 200 and served.headers["Accept-Ranges"] == "bytes"
    assert served.headers["Content-Type"] == "video/mp4" and served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"].startswith("private")
    assert b"+48.8584" not in served.data and len(served.data) == video["size_bytes"]
    poster = client.get(video["poster_url"], headers=family["owner"].headers)
    assert poster.status_code == 200 and poster.data[:3] == b"\xff\xd8\xff"
    assert [p.name for p in media_files(app)] == ["poster.jpg", "video.mp4"]  # the upload's chunks are gone


def test_range_requests_answer_206_with_the_bytes_asked(client, app, family, episode, clip):
    upload(client, family["owner"], episode, clip)
    process(app)
    url, headers = "/api/v1/videos/clip1/content", family["owner"].headers
    whole = client.get(url, headers=headers).data
    part = client.get(url, headers={**headers, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == whole[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
    tail = client.get(url, headers={**headers, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == whole[-10:]
    beyond = client.get(url, headers={**headers, "Range": f"bytes={len(whole) + 5}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(whole)}"


@pytest.mark.parametrize("make, words", [(make_pdf, "PDF"), (make_html, "not a video")])
def test_a_document_named_clip_mp4_is_rejected_with_a_reason(client, app, family, episode, tmp_path, make, words):
    data = Path(make(tmp_path / "clip.mp4")).read_bytes()
    upload(client, family["owner"], episode, data)
    assert "1 rejected" in process(app)
    video = client.get("/api/v1/videos/clip1", headers=family["owner"].headers).get_json()
    assert video["status"] == "rejected" and words.lower() in video["rejected_reason"].lower()
    assert video["content_url"] is None and media_files(app) == []
    assert_error(client.get("/api/v1/videos/clip1/content", headers=family["owner"].headers), 404)


def test_the_reason_is_written_in_the_uploaders_language(client, app, family, episode, tmp_path):
    """The parent who uploaded reads it in the app, where it arrives by sync as it is stored."""
    owner = family["owner"]
    assert client.patch("/api/v1/me", json={"locale": "de"}, headers=owner.headers).status_code == 200
    upload(client, owner, episode, Path(make_pdf(tmp_path / "clip.mp4")).read_bytes())
    assert "1 rejected" in process(app)
    reason = client.get("/api/v1/videos/clip1", headers=family["clinician"].headers).get_json()["rejected_reason"]
    assert reason == "Diese Datei ist kein Video (sie sieht aus wie ein PDF-Dokument)."
    create(client, owner, episode, 1000, "clip2")
    app.test_cli_runner().invoke(args=["videos", "process", "--now", "2099-01-01T00:00:00+00:00"])
    expired = client.get("/api/v1/videos/clip2", headers=owner.headers).get_json()["rejected_reason"]
    assert expired == "Das Hochladen wurde nicht innerhalb von 24 Stunden abgeschlossen; bitte laden Sie den Clip " \
        "erneut hoch."


def test_a_truncated_mp4_is_rejected(client, app, family, episode, tmp_path):
    path = make_clip(tmp_path / "c.mp4", seconds=2.0)
    data = Path(truncate(path, 0.5)).read_bytes()
    upload(client, family["owner"], episode, data)
    process(app)
    video = client.get("/api/v1/videos/clip1", headers=family["owner"].headers).get_json()
    assert video["status"] == "rejected" and video["rejected_reason"]


def test_a_crash_mid_processing_leaves_it_for_the_next_pass(client, app, family, episode, clip, monkeypatch):
    from backend.videos import lifecycle
    upload(client, family["owner"], episode, clip)

    def crash(*args):
        raise KeyboardInterrupt  # the process dies: nothing after this runs

    monkeypatch.setattr(lifecycle, "process_file", crash)
    with app.app_context(), pytest.raises(KeyboardInterrupt):
        lifecycle.run_pass()
    monkeypatch.undo()
    video = client.get("/api/v1/videos/clip1", headers=family["owner"].headers).get_json()
    assert video["status"] == "processing"
    assert "0 ready" in process(app)  # still claimed by the pass that died
    result = app.test_cli_runner().invoke(args=["videos", "process", "--now", "2099-01-01T00:00:00+00:00"])
    assert "1 ready" in result.output


def test_the_stored_upload_is_the_bytes_sent(client, app, family, episode, clip):
    upload(client, family["owner"], episode, clip, chunk=7000)
    process(app)
    from backend.extensions import db
    from backend.videos.models import EpisodeVideo
    with app.app_context():
        assert db.session.get(EpisodeVideo, "clip1").sha256 == hashlib.sha256(clip).hexdigest()


# ---- who reads, who deletes ------------------------------------------------------------------------

def test_the_care_team_reads_and_a_clinicians_playback_is_logged(client, api, app, family, episode, clip):
    upload(client, family["owner"], episode, clip)
    process(app)
    clinician = family["clinician"]
    listed = client.get(f"/api/v1/episodes/{episode}/videos", headers=clinician.headers).get_json()
    assert [v["id"] for v in listed["items"]] == ["clip1"] and listed["next_cursor"] is None
    assert client.get("/api/v1/videos/clip1/content", headers=clinician.headers).status_code == 200
    log = client.get(f"/api/v1/children/{family['child']['id']}/access-log", headers=family["owner"].headers)
    actions = [row["action"] for row in log.get_json()["items"]]
    assert "videos.video_content" in actions
    stranger = api.register("clinician")
    for path in ("/api/v1/videos/clip1", "/api/v1/videos/clip1/content", "/api/v1/videos/clip1/poster.jpg",
                 f"/api/v1/episodes/{episode}/videos"):
        assert_error(client.get(path, headers=stranger.headers), 404)
    assert_error(client.delete("/api/v1/videos/clip1", headers=clinician.headers), 403)


def test_deleting_a_video_removes_its_files(client, app, family, episode, clip):
    upload(client, family["owner"], episode, clip)
    process(app)
    assert client.delete("/api/v1/videos/clip1", headers=family["caregiver"].headers).status_code == 204
    assert media_files(app) == []
    assert_error(client.get("/api/v1/videos/clip1", headers=family["owner"].headers), 404)


def test_deleting_the_episode_deletes_its_videos_and_files(client, app, family, episode, clip):
    upload(client, family["owner"], episode, clip)
    process(app)
    assert client.delete(f"/api/v1/episodes/{episode}", headers=family["owner"].headers).status_code == 204
    assert media_files(app) == []
    assert_error(client.get("/api/v1/videos/clip1", headers=family["owner"].headers), 404)


def test_the_served_file_has_no_device_tags(client, app, family, episode, tmp_path):
    data = Path(make_clip(tmp_path / "phone.mov", container="mov", gps=True)).read_bytes()
    assert b"ISO6709" in data or b"+48.8584" in data
    upload(client, family["owner"], episode, data)
    process(app)
    served = client.get("/api/v1/videos/clip1/content", headers=family["owner"].headers).data
    assert b"+48.8584" not in served and b"ISO6709" not in served
    path = tmp_path / "served.mp4"
    path.write_bytes(served)
    with av.open(str(path)) as container:
        tags = {**container.metadata, **container.streams.video[0].metadata}
    assert not any(word in key.lower() for key in tags for word in ("location", "make", "model"))


def test_the_last_patch_fills_the_upload_exactly_behind_a_server_that_ends_the_input(client, family, episode):
    """gunicorn marks its input terminated: werkzeug then caps the body at the request's limit, and a read
    past an exactly full body must be the end, not a 413."""
    create(client, family["owner"], episode, 100)
    response = client.patch("/api/v1/uploads/clip1", data=b"x" * 100, environ_overrides={
        "wsgi.input_terminated": True}, headers={**family["owner"].headers, **TUS, "Upload-Offset": "0",
                                                 "Content-Type": OCTETS})
    assert response.status_code == 204 and response.headers["Upload-Offset"] == "100"


def test_a_video_whose_row_goes_while_it_is_processed_leaves_no_file(client, app, family, episode, clip, monkeypatch):
    """The purge removes a child's rows while a pass processes one of its videos: the pass keeps nothing."""
    from backend.extensions import db
    from backend.videos import lifecycle
    from backend.videos.models import EpisodeVideo, UploadChunk
    upload(client, family["owner"], episode, clip)
    real = lifecycle.process_file

    def process_then_purge(*args):
        processed = real(*args)
        db.session.execute(UploadChunk.__table__.delete())
        db.session.execute(EpisodeVideo.__table__.delete())
        db.session.commit()
        return processed

    monkeypatch.setattr(lifecycle, "process_file", process_then_purge)
    with app.app_context():
        lifecycle.run_pass()
    assert media_files(app) == []
