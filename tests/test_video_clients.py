"""Real tus clients against the real server (issue 19): tuspy, and tus-js-client (the phone app's uploader) in
Node, through gunicorn with two workers, on SQLite and PostgreSQL, with local storage and with S3 (moto's
server over HTTP).

A small TCP proxy between a client and gunicorn cuts one PATCH part-way, as a phone losing its network: the
server keeps the bytes that arrived, HEAD answers where they stopped, the client resumes from there. Two raw
PATCHes race for every offset of a file; ten phones upload at once. Then `flask videos process` (the CLI, run
in the test's process on the server's database and storage: a subprocess would spend seconds importing the
app) makes the videos ready: the sha256 stored in `episode_videos` is the file's, and /content is an MP4 PyAV
plays for as long as the clip. No request may answer 5xx: gunicorn's access log is read for that.

The ten phones send about 5 MB each so that the file runs in seconds; the issue's 50 MB each is the benchmark's.
"""
import hashlib
import json
import os
import re
import select
import selectors
import shutil
import socket
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import av
import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from tusclient import client as tus
from tusclient.exceptions import TusUploadFailed

from backend import create_app
from backend.extensions import db
from tests.helpers import Account, config_for, episode_body
from tests.s3_server import s3_client, s3_endpoint  # noqa: F401  (s3_endpoint: a fixture)
from tests.test_scale_out import BIN, ROOT, HttpClient, _wait_until_up, environment, free_port, register
from tests.video_clips import make_clip
from tests.video_helpers import metadata, process

TUS_CLIENT_DIR = Path(__file__).resolve().parent / "tus_client"
CHUNK = 1024 * 1024  # tuspy's and tus-js-client's chunkSize, as the app sends
CUT_AFTER = 300_001  # bytes of the cut PATCH's body that reach the server
PHONES = 10
TUS = {"Tus-Resumable": "1.0.0"}
# The server's database and storage: both databases with local storage; S3 (moto) on SQLite, which runs
# everywhere (the storage does not depend on the database). Tests name the setups they run on.
LOCAL = ["sqlite-local", "postgresql-local"]
EVERY_SETUP = [*LOCAL, "sqlite-s3"]
ACCESS_LINE = re.compile(r'"(GET|HEAD|POST|PATCH|PUT|DELETE|OPTIONS) (\S+) HTTP/[\d.]+" (\d{3}) ')


# ---- clips ---------------------------------------------------------------------------------------

def sha256(path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def seconds_of(path) -> float:
    with av.open(str(path)) as container:
        return container.duration / av.time_base


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """A phone-like 720p MP4 of about 5 MB (camera grain makes it as large as a phone's)."""
    path = tmp_path_factory.mktemp("video-clients") / "episode.mp4"
    make_clip(path, seconds=3, width=1280, height=720, grain=8)
    assert 4_000_000 < path.stat().st_size < 8_000_000
    return path


@pytest.fixture(scope="session")
def phone_clips(tmp_path_factory) -> list[Path]:
    """Ten different clips of about 5 MB (different lengths), so that no phone's bytes can pass for another's."""
    folder = tmp_path_factory.mktemp("phone-clips")
    paths = [Path(make_clip(folder / f"phone{index}.mp4", seconds=3.6 + 0.2 * index, bit_rate=10_000_000,
                            grain=32)) for index in range(PHONES)]
    assert len({sha256(path) for path in paths}) == PHONES
    assert all(4_000_000 < path.stat().st_size < 9_000_000 for path in paths)
    return paths


# ---- the server ------------------------------------------------------------------------------------

@dataclass
class Family:
    account: Account
    child_id: str
    episode_id: str

    def metadata(self, video_id: str, filename: str = "episode.mp4") -> dict:
        return {"id": video_id, "episode_id": self.episode_id, "filename": filename, "filetype": "video/mp4"}


class Server:
    """gunicorn (two sync workers) on one database and one storage, and what the tests ask of it."""

    def __init__(self, port: int, app, log: Path, tmp: Path):
        self.port, self.url, self.app, self.log, self.tmp = port, f"http://127.0.0.1:{port}", app, log, tmp
        self.http = HttpClient(self.url)
        self.engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])

    @property
    def uploads(self) -> str:
        return self.url + "/api/v1/uploads"

    def family(self, name: str) -> Family:
        """A caregiver of their own child, with one episode to attach videos to."""
        account = register(self.http, f"{name}-{uuid.uuid4().hex[:8]}@example.org")
        child = self.http.post("/api/v1/children", headers=account.headers, json={
            "name": "Mila", "birth_date": "2026-10-01", "timezone": "Europe/Berlin", "condition": "bnsm"})
        assert child.status_code == 201, child.body
        episode = self.http.post(f"/api/v1/children/{child.json['id']}/episodes", headers=account.headers,
                                 json=episode_body())
        assert episode.status_code == 201, episode.body
        return Family(account, child.json["id"], episode.json["id"])

    def offset(self, family: Family, video_id: str) -> int:
        answer = requests.head(f"{self.uploads}/{video_id}", headers={**family.account.headers, **TUS}, timeout=30)
        assert answer.status_code == 200, answer.text
        return int(answer.headers["Upload-Offset"])

    def process(self) -> str:
        """`flask videos process` (the CLI, in this process, with the server's database and storage); the
        summary line."""
        return process(self.app).strip().splitlines()[-1]

    def stored(self, video_id: str) -> tuple[str, str | None]:
        """(status, sha256) of the video's row, read from the database itself."""
        with self.engine.connect() as connection:
            return tuple(connection.execute(text("SELECT status, sha256 FROM episode_videos WHERE id = :id"),
                                            {"id": video_id}).one())

    def assert_ready(self, family: Family, video_id: str, source: Path) -> None:
        """Ready, the stored sha256 is the source's, and /content is an H.264 MP4 as long as the source."""
        assert self.stored(video_id) == ("ready", sha256(source))
        headers = family.account.headers
        meta = requests.get(f"{self.url}/api/v1/videos/{video_id}", headers=headers, timeout=30)
        assert meta.status_code == 200 and meta.json()["status"] == "ready", meta.text
        content = requests.get(f"{self.url}/api/v1/videos/{video_id}/content", headers=headers, timeout=60)
        assert content.status_code == 200, content.text[:300]
        assert content.headers["Content-Type"] == "video/mp4"
        played = self.tmp / f"played-{video_id}.mp4"
        played.write_bytes(content.content)
        with av.open(str(played)) as container:
            assert "mp4" in container.format.name
            video = container.streams.video[0]
            assert video.codec_context.name == "h264"
            frames = sum(1 for _ in container.decode(video))
        assert seconds_of(played) == pytest.approx(seconds_of(source), abs=0.1)
        assert frames >= 25 * seconds_of(source) - 2  # make_clip's 25 frames a second, every one decodable
        played.unlink()

    def mark(self) -> int:
        return self.log.stat().st_size

    def answers_since(self, mark: int) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request gunicorn logged since the mark."""
        with open(self.log, "rb") as log:
            log.seek(mark)
            lines = log.read().decode("utf-8", "replace")
        return [(method, path, int(status)) for method, path, status in ACCESS_LINE.findall(lines)]

    def server_errors_since(self, mark: int) -> list:
        return [answer for answer in self.answers_since(mark) if answer[2] >= 500]


def _migrated_app(url: str, tmp: Path, **settings):
    """The app as gunicorn's workers make it from `environment()` (same database, instance folder and
    storage), with the schema migrated: it runs `flask videos process` in this process."""
    app = create_app(config_for(url, INSTANCE_DIR=str(tmp / "instance"), **settings))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


def _empty_bucket(endpoint: str, bucket: str) -> None:
    s3 = s3_client(endpoint)
    while keys := [{"Key": entry["Key"]} for entry in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=bucket)


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """One gunicorn per setup ("sqlite-local", ...: indirect parameter), shared by the tests naming it."""
    database, storage = request.param.split("-")
    tmp = tmp_path_factory.mktemp(f"video-clients-{database}-{storage}")
    if database == "postgresql":
        url = request.getfixturevalue("scratch_database")()  # skips, with the reason, without PostgreSQL
    else:
        url = f"sqlite:///{tmp / 'videos.sqlite3'}"
    extra, bucket = {}, None
    if storage == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")  # sets the fake AWS variables for the session
        bucket = f"myodiary-clients-{uuid.uuid4().hex[:12]}"
        s3_client(endpoint).create_bucket(Bucket=bucket)
        extra = {"VIDEO_STORAGE": "s3", "S3_ENDPOINT_URL": endpoint, "S3_BUCKET": bucket}
    app, env = _migrated_app(url, tmp, **extra), environment(url, tmp, **extra)
    port, log = free_port(), tmp / "gunicorn.log"
    # --graceful-timeout: once idle, a worker still spends seconds in the interpreter's exit (its final
    # garbage collection); nothing here depends on how it ends, so the master kills it after 2 s.
    with open(log, "wb") as output:  # the child keeps its own copy of the file
        gunicorn = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "python:backend.gunicorn_config", "--workers", "2", "--timeout", "120",
             "--graceful-timeout", "2", "--bind", f"127.0.0.1:{port}", "backend:create_app()"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    running = Server(port, app, log, tmp)
    try:
        _wait_until_up(running.http)
        yield running
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=20)
        running.engine.dispose()
        with app.app_context():
            db.engine.dispose()
        if bucket:
            _empty_bucket(extra["S3_ENDPOINT_URL"], bucket)


# ---- a network that drops ---------------------------------------------------------------------------

class CuttingProxy:
    """A TCP proxy between a client and gunicorn that drops one PATCH part-way, as a phone losing its network.

    Every connection passes through as is, except the `cut_patch`-th PATCH (0: the first): of that one the
    server gets the request head and the first `cut_after` bytes of the body, then the end of the stream
    (a short body); its answer is kept in `cut_answer`, never passed on, and the client's connection is
    reset. The client learns of the cut only once the server is done with it, as a phone whose request
    times out long after the server saw the connection end. `patch_offsets`: the Upload-Offset of every
    PATCH that came through, in order.
    """

    def __init__(self, upstream_port: int, cut_patch: int = 1, cut_after: int = CUT_AFTER):
        self.upstream = ("127.0.0.1", upstream_port)
        self.cut_patch, self.cut_after = cut_patch, cut_after
        self.patch_offsets: list[int] = []
        self.cut_request: str | None = None  # the cut PATCH's request line and headers
        self.cut_answer: str | None = None
        self.cut = threading.Event()
        self.errors: list[str] = []  # the proxy's own failures
        self._lock, self._stop, self._threads = threading.Lock(), threading.Event(), []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._accepting.join(timeout=10)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=30)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(60)
        try:
            with client, socket.create_connection(self.upstream, timeout=60) as server:
                head, rest = _read_head(client)
                if head is None:
                    return
                cut_here = False
                if head.startswith(b"PATCH "):
                    with self._lock:
                        cut_here = len(self.patch_offsets) == self.cut_patch
                        self.patch_offsets.append(int(_header(head, "upload-offset")))
                if cut_here:
                    self._cut(client, server, head, rest)
                else:
                    server.sendall(head + rest)
                    _pump(client, server)
        except OSError as error:  # kept for the test to see, not lost in a thread
            self.errors.append(repr(error))

    def _cut(self, client: socket.socket, server: socket.socket, head: bytes, rest: bytes) -> None:
        self.cut_request = head.decode("latin-1").strip()
        sent = rest[:self.cut_after]
        server.sendall(head + sent)
        budget = self.cut_after - len(sent)
        while budget > 0 and (block := client.recv(min(65536, budget))):
            server.sendall(block)
            budget -= len(block)
        server.shutdown(socket.SHUT_WR)
        self.cut_answer = _read_all(server).split(b"\r\n\r\n", 1)[0].decode("latin-1")
        self.cut.set()  # before the client can learn of it
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
        client.close()


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        block = sock.recv(65536)
        if not block:
            return None, data
        data += block
    head, rest = data.split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n", rest


def _header(head: bytes, name: str) -> str | None:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while block := sock.recv(65536):
        chunks.append(block)
    return b"".join(chunks)


def _pump(first: socket.socket, second: socket.socket) -> None:
    """Bytes both ways until both sides have ended their sending."""
    peer = {first: second, second: first}
    with selectors.DefaultSelector() as selector:
        for sock in peer:
            selector.register(sock, selectors.EVENT_READ)
        while selector.get_map():
            events = selector.select(timeout=60)
            if not events:
                return
            for key, _ in events:
                try:
                    block = key.fileobj.recv(65536)
                    if block:
                        peer[key.fileobj].sendall(block)
                        continue
                    peer[key.fileobj].shutdown(socket.SHUT_WR)
                except OSError:
                    return
                selector.unregister(key.fileobj)


def _offset_in(answer: str) -> int:
    return int(_header(answer.encode("latin-1"), "upload-offset"))


# ---- 1. tuspy, cut mid-PATCH and resumed -------------------------------------------------------------

@pytest.mark.parametrize("server", EVERY_SETUP, indirect=True)
def test_tuspy_upload_cut_mid_patch_resumes_from_heads_offset_and_the_video_plays(server, clip):
    mark, family, video_id = server.mark(), server.family("tuspy"), f"tuspy-{uuid.uuid4().hex}"
    length = clip.stat().st_size
    with CuttingProxy(server.port, cut_patch=1) as proxy, open(clip, "rb") as stream:
        client = tus.TusClient(proxy.url + "/api/v1/uploads", headers=family.account.headers)
        uploader = client.uploader(file_stream=stream, chunk_size=CHUNK, metadata=family.metadata(video_id))
        with pytest.raises(TusUploadFailed):
            uploader.upload()  # the second PATCH's connection is cut after CUT_AFTER bytes
        assert proxy.cut.is_set()
        assert _header(proxy.cut_request.encode(), "content-length") == str(CHUNK)
        assert proxy.cut_answer.startswith("HTTP/1.1 204")  # the server kept what arrived
        assert uploader.url == f"{proxy.url}/api/v1/uploads/{video_id}"

        offset = server.offset(family, video_id)
        assert 0 < offset < length
        assert offset == CHUNK + CUT_AFTER == _offset_in(proxy.cut_answer)

        resumed = client.uploader(file_stream=stream, url=uploader.url, chunk_size=CHUNK)  # asks HEAD
        assert resumed.offset == offset
        resumed.upload()
        assert resumed.offset == length
    assert proxy.errors == []
    assert proxy.patch_offsets[:3] == [0, CHUNK, offset]  # the resumed PATCH starts where the bytes stopped
    assert proxy.patch_offsets[-1] == offset + CHUNK * ((length - offset - 1) // CHUNK)

    assert server.stored(video_id) == ("processing", None)
    assert server.process().startswith("1 ready, 0 rejected")
    server.assert_ready(family, video_id, clip)
    assert server.server_errors_since(mark) == []


# ---- 2. tus-js-client in Node ------------------------------------------------------------------------

def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: tus-js-client cannot run")
    if not (TUS_CLIENT_DIR / "node_modules" / "tus-js-client").is_dir():
        pytest.skip("tus-js-client is not installed: run `npm ci` in tests/tus_client (make node-deps does)")
    return node


def _node_upload(node: str, endpoint: str, family: Family, video_id: str, path: Path, retry_delays=None) -> dict:
    """tests/tus_client/upload.js: one upload with tus-js-client; its report."""
    config = {"endpoint": endpoint, "token": family.account.token, "file": str(path), "chunkSize": CHUNK,
              "metadata": family.metadata(video_id), "retryDelays": retry_delays}
    run = subprocess.run([node, "upload.js"], cwd=TUS_CLIENT_DIR, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "MYODIARY_TUS_CONFIG": json.dumps(config)})
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("server", LOCAL, indirect=True)
def test_tus_js_client_in_node_uploads_a_clip_the_server_makes_ready(server, clip):
    node = _node()
    mark, family, video_id = server.mark(), server.family("node"), f"node-{uuid.uuid4().hex}"
    report = _node_upload(node, server.uploads, family, video_id, clip)  # no retries: any failure shows
    length = clip.stat().st_size
    assert report == {"ok": True, "url": f"{server.uploads}/{video_id}", "bytesUploaded": length,
                      "bytesTotal": length, "error": None, "retries": []}
    patches = [answer for answer in server.answers_since(mark) if answer[0] == "PATCH"]
    assert patches == [("PATCH", f"/api/v1/uploads/{video_id}", 204)] * -(-length // CHUNK)  # 1 MiB each

    assert server.process().startswith("1 ready, 0 rejected")
    server.assert_ready(family, video_id, clip)
    assert server.server_errors_since(mark) == []


@pytest.mark.parametrize("server", LOCAL, indirect=True)
def test_tus_js_client_resumes_by_itself_after_a_cut(server, clip):
    node = _node()
    mark, family, video_id = server.mark(), server.family("nodecut"), f"nodecut-{uuid.uuid4().hex}"
    with CuttingProxy(server.port, cut_patch=2) as proxy:
        report = _node_upload(node, proxy.url + "/api/v1/uploads", family, video_id, clip,
                              retry_delays=[0, 500, 2000])
    length = clip.stat().st_size
    assert report["ok"] is True, report
    assert proxy.errors == []
    assert report["bytesUploaded"] == length
    assert [retry["status"] for retry in report["retries"]] == [0]  # one network error, then resumed
    assert _header(proxy.cut_request.encode(), "content-length") == str(CHUNK)  # its chunkSize, no chunked body
    assert proxy.cut_answer.startswith("HTTP/1.1 204")
    cut_offset = _offset_in(proxy.cut_answer)
    assert cut_offset == 2 * CHUNK + CUT_AFTER
    assert proxy.patch_offsets[:4] == [0, CHUNK, 2 * CHUNK, cut_offset]  # from HEAD's offset, mid-chunk
    assert ("HEAD", f"/api/v1/uploads/{video_id}", 200) in server.answers_since(mark)  # it asked first

    assert server.process().startswith("1 ready, 0 rejected")
    server.assert_ready(family, video_id, clip)
    assert server.server_errors_since(mark) == []


# ---- 3. two uploaders race for the same offset --------------------------------------------------------

def _race(port: int, token: str, video_id: str, offset: int, body: bytes) -> list[tuple[int, str]]:
    """Two raw PATCHes of the same bytes at the same offset, in flight at once: both heads go out together,
    so each waits in its own worker for its body or is refused. The server answers the one it refuses
    without reading its body; the other then gets its body. [(status, status line and headers)], by
    status."""
    head = (f"PATCH /api/v1/uploads/{video_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n"
            f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    racers = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(2)]
    try:
        for racer in racers:
            racer.sendall(head)
        refused, _, _ = select.select(racers, [], [], 20)  # the server took one; it answers the other now
        for racer in racers:
            if racer not in refused:
                racer.sendall(body)
        answers = [_read_all(racer).partition(b"\r\n\r\n")[0].decode("latin-1") for racer in racers]
    finally:
        for racer in racers:
            racer.close()
    return sorted((int(answer.split(" ", 2)[1]), answer) for answer in answers)


@pytest.mark.parametrize("server", EVERY_SETUP, indirect=True)
def test_two_uploaders_racing_for_every_offset_one_wins_each_and_the_bytes_are_right(server, phone_clips):
    mark, family, video_id = server.mark(), server.family("race"), f"race-{uuid.uuid4().hex}"
    source = phone_clips[0]
    data = source.read_bytes()
    created = requests.post(server.uploads, headers={
        **family.account.headers, **TUS, "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata(**family.metadata(video_id))}, timeout=30)
    assert created.status_code == 201, created.text
    rounds = 0
    for offset in range(0, len(data), CHUNK):
        body = data[offset:offset + CHUNK]
        (won, winner), (lost, loser) = _race(server.port, family.account.token, video_id, offset, body)
        assert (won, lost) == (204, 423), (winner, loser)  # refused while the winner held it: 423, not 409
        rounds += 1
        assert _offset_in(winner) == offset + len(body)
        assert server.offset(family, video_id) == offset + len(body)  # the loser's bytes were not counted
    assert rounds == -(-len(data) // CHUNK) > 3

    assert server.process().startswith("1 ready, 0 rejected")
    server.assert_ready(family, video_id, source)
    assert server.server_errors_since(mark) == []


# ---- 4. ten phones at once ------------------------------------------------------------------------

@pytest.mark.parametrize("server", EVERY_SETUP, indirect=True)
def test_ten_phones_uploading_at_once_all_complete_without_a_server_error(server, phone_clips):
    mark = server.mark()
    families = [server.family(f"phone{index}") for index in range(PHONES)]
    video_ids = [f"phone{index}-{uuid.uuid4().hex}" for index in range(PHONES)]
    start, done, failures = threading.Barrier(PHONES), {}, []

    def phone(index: int) -> None:
        try:
            client = tus.TusClient(server.uploads, headers=families[index].account.headers)
            with open(phone_clips[index], "rb") as stream:
                uploader = client.uploader(file_stream=stream, chunk_size=CHUNK,
                                           metadata=families[index].metadata(video_ids[index]))
                start.wait(timeout=30)
                uploader.upload()
                done[index] = uploader.offset
        except Exception as error:  # noqa: BLE001  (reported below with the phone's number)
            failures.append(f"phone {index}: {error!r} {getattr(error, 'response_content', b'')[:300]!r}")

    began = time.monotonic()
    threads = [threading.Thread(target=phone, args=(index,)) for index in range(PHONES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - began
    assert failures == []
    assert done == {index: phone_clips[index].stat().st_size for index in range(PHONES)}
    assert elapsed < 60

    assert server.process().startswith(f"{PHONES} ready, 0 rejected")
    for family, video_id, source in zip(families, video_ids, phone_clips, strict=True):
        server.assert_ready(family, video_id, source)
    answers = server.answers_since(mark)
    assert sum(1 for method, _, status in answers if method == "PATCH" and status == 204) == sum(
        -(-path.stat().st_size // CHUNK) for path in phone_clips)
    assert server.server_errors_since(mark) == []
