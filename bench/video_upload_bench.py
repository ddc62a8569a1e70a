"""Video upload benchmark (issue 19): tus uploads through gunicorn, against the disk they land on.

    python bench/video_upload_bench.py [--quick]

For each database (a fresh SQLite file, and a scratch PostgreSQL database when 127.0.0.1:5432 answers) it
migrates, signs up 11 caregivers with a child and an episode each, and starts gunicorn (2 sync workers, the
real app, `local` storage under a temporary instance folder). Then, in the same run:

- disk: the same bytes written to a file in that folder in 5 MiB writes, then fsync: MB/s, the floor;
- one upload of 200 MB (50 with --quick) in 5 MiB PATCHes with http.client: MB/s and its ratio to the
  disk (target >= 0.40), and the growth of the serving workers' RSS meanwhile (sampled every 20 ms from
  /proc, above what they held after a warm-up upload each; target < 64 MB); disk and upload alternate for
  3 rounds and the medians are kept;
- 10 phones uploading 50 MB each at once (10 with --quick), one thread each: no answer may be 5xx, and
  every upload's stored chunks must cover it exactly once with the sha256 of what was sent;
- what gunicorn itself costs: the same 5 MiB PATCHes to a do-nothing WSGI app (`sink_app` below,
  reading each body in 256 KiB blocks and dropping it) under the same gunicorn, MB/s: the floor of
  the transport, with no database, no storage and no fsync;
- a ready video (a 10-second 720p clip made by PyAV, uploaded and processed by `flask videos process`):
  200 requests for its first 1 MB (Range: bytes=0-1048575), time to the first byte of the body, p50/p95
  (target p95 < 20 ms).

Writes bench/results/video_upload.json (video_upload-quick.json with --quick).
"""
import argparse
import contextlib
import hashlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from backend.extensions import db  # noqa: E402
from backend.videos.models import EpisodeVideo, UploadChunk  # noqa: E402
from backend.videos.storage import storage  # noqa: E402
from bench.sync_bench import RESULTS, databases, drop_postgres, make_app, progress  # noqa: E402
from tests.video_clips import make_clip  # noqa: E402

GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
FLASK = ROOT / ".venv" / "bin" / "flask"
CHUNK = 5 * 1024 * 1024
PHONES = 10
ROUNDS = 3
PASSWORD = "bench-password"


# ---- the server and its accounts ----------------------------------------------------------------

def sink_app(environ, start_response):
    """gunicorn's floor: read the body in 256 KiB blocks and drop it."""
    stream = environ["wsgi.input"]
    while stream.read(256 * 1024):
        pass
    start_response("204 No Content", [])
    return [b""]


def environment(url: str, instance: Path) -> dict:
    return {**os.environ, "DATABASE_URL": url, "MYODIARY_INSTANCE_DIR": str(instance), "SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST_KIB": "64"}


def families(app, count: int) -> list[tuple[dict, str]]:
    """(auth headers, episode id) of `count` caregivers, each with a child and an episode."""
    client, found = app.test_client(), []
    for number in range(count):
        email = f"bench{number}@example.org"
        client.post("/api/v1/users", json={"email": email, "password": PASSWORD, "name": "B", "role": "caregiver"})
        token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        child = client.post("/api/v1/children", headers=headers, json={
            "name": "Bench", "birth_date": "2026-09-01", "timezone": "Europe/Berlin", "condition": "bnsm"}).json
        episode = client.post(f"/api/v1/children/{child['id']}/episodes", headers=headers, json={
            "started_at": "2026-11-28T02:14:00+01:00", "duration_seconds": 30, "timezone": "Europe/Berlin",
            "sleep_state": "asleep", "stopped_when_woken": "yes", "side": "both"}).json
        found.append((headers, episode["id"]))
    return found


def start_gunicorn(url: str, instance: Path, port: int, app: str = "backend:create_app()") -> subprocess.Popen:
    server = subprocess.Popen([str(GUNICORN), "--workers", "2", "--timeout", "600", "--bind", f"127.0.0.1:{port}",
                               app], cwd=ROOT, env=environment(url, instance),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status in (200, 204):
                return server
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- uploading ------------------------------------------------------------------------------------

def tus_upload(port: int, headers: dict, episode_id: str, video_id: str, path: Path) -> list[int]:
    """Upload the file in 5 MiB PATCHes; the statuses answered."""
    import base64
    size, statuses = path.stat().st_size, []
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"id": video_id, "episode_id": episode_id, "filename": "clip.mp4", "filetype": "video/mp4"}.items())
    tus = {**headers, "Tus-Resumable": "1.0.0"}
    statuses.append(_request(port, "POST", "/api/v1/uploads", {**tus, "Upload-Length": str(size),
                                                               "Upload-Metadata": meta}))
    with open(path, "rb") as file:
        offset = 0
        while block := file.read(CHUNK):
            statuses.append(_request(port, "PATCH", f"/api/v1/uploads/{video_id}", {
                **tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}, block))
            offset += len(block)
    return statuses


def _request(port: int, method: str, path: str, headers: dict, body: bytes | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def random_file(path: Path, size: int) -> str:
    """`size` random bytes (in 5 MiB blocks); their sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as file:
        for start in range(0, size, CHUNK):
            block = os.urandom(min(CHUNK, size - start))
            digest.update(block)
            file.write(block)
    return digest.hexdigest()


def disk_write_mb_s(source: Path, folder: Path) -> float:
    """The floor: the same bytes copied to the same disk in 5 MiB writes, then fsync."""
    target, started = folder / "disk-floor", time.perf_counter()
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while block := reader.read(CHUNK):
            writer.write(block)
        writer.flush()
        os.fsync(writer.fileno())
    seconds = time.perf_counter() - started
    target.unlink()
    return source.stat().st_size / 1e6 / seconds


class RssWatch:
    """The peak RSS of gunicorn's workers above what they held before, sampled from /proc."""

    def __init__(self, master: int):
        self.master, self.peak_growth, self._stop = master, 0, threading.Event()
        self.base = {pid: self._rss(pid) for pid in self._workers()}

    def _workers(self) -> list[int]:
        children = Path(f"/proc/{self.master}/task/{self.master}/children").read_text().split()
        return [int(pid) for pid in children]

    @staticmethod
    def _rss(pid: int) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            for pid, base in self.base.items():
                with contextlib.suppress(FileNotFoundError):  # a worker restarted
                    self.peak_growth = max(self.peak_growth, self._rss(pid) - base)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def stored_sha256(app, video_id: str, length: int) -> str | None:
    """The sha256 of the upload's chunks in offset order, None when they do not cover it exactly once."""
    with app.app_context():
        chunks = db.session.scalars(select(UploadChunk).where(UploadChunk.video_id == video_id)
                                    .order_by(UploadChunk.offset)).all()
        digest, expected = hashlib.sha256(), 0
        for chunk in chunks:
            if chunk.offset != expected:
                return None
            with tempfile.TemporaryFile() as file:
                storage().download(chunk.key, file)
                file.seek(0)
                while block := file.read(CHUNK):
                    digest.update(block)
            expected += chunk.size
        return digest.hexdigest() if expected == length else None


def sink_mb_s(url: str, instance: Path, path: Path) -> float:
    """The same PATCHes to sink_app under the same gunicorn: the transport's own speed."""
    port = free_port()
    server = start_gunicorn(url, instance, port, "bench.video_upload_bench:sink_app")
    try:
        started = time.perf_counter()
        with open(path, "rb") as file:
            while block := file.read(CHUNK):
                assert _request(port, "PATCH", "/", {"Content-Type": "application/offset+octet-stream"}, block) == 204
        return path.stat().st_size / 1e6 / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=30)


# ---- playback -------------------------------------------------------------------------------------

def first_byte_ms(port: int, headers: dict, video_id: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        started = time.perf_counter()
        connection.request("GET", f"/api/v1/videos/{video_id}/content", headers={**headers, "Range": "bytes=0-1048575"})
        response = response_ = connection.getresponse()
        response_.read(1)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status == 206, response.status
        response.read()
        connection.close()
    return samples


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# ---- the run ----------------------------------------------------------------------------------------

def bench_database(name: str, url: str, quick: bool) -> dict:
    app, folder = make_app(url), Path(tempfile.mkdtemp(prefix="myodiary-video-bench-"))
    instance = folder / "instance"
    instance.mkdir()
    app.config["MEDIA_DIR"] = str(instance / "media")
    accounts = families(app, PHONES + 2)
    big, each = (50 if quick else 200) * 1_000_000, (10 if quick else 50) * 1_000_000
    progress(f"{name}: writing the test files ({big // 1_000_000} MB and {PHONES} x {each // 1_000_000} MB)")
    big_file = folder / "big.bin"
    random_file(big_file, big)
    phone_files = [(folder / f"phone{n}.bin") for n in range(PHONES)]
    sums = [random_file(path, each) for path in phone_files]
    port = free_port()
    server = start_gunicorn(url, instance, port)
    try:
        warm = folder / "warm.bin"
        random_file(warm, 2 * CHUNK)
        for worker in range(4):  # both workers have served an upload before the RSS baseline
            tus_upload(port, accounts[0][0], accounts[0][1], f"warm{worker}", warm)
        disk, upload, growth = [], [], 0.0
        for round_ in range(ROUNDS):  # alternating, so both see the same machine; medians
            progress(f"{name}: round {round_ + 1}/{ROUNDS}: the disk, then one upload of {big // 1_000_000} MB "
                     "in 5 MiB PATCHes")
            disk.append(disk_write_mb_s(big_file, instance))
            with RssWatch(server.pid) as watch:
                started = time.perf_counter()
                statuses = tus_upload(port, accounts[0][0], accounts[0][1], f"big{round_}", big_file)
                upload.append(big / 1e6 / (time.perf_counter() - started))
            assert set(statuses) == {201, 204}, statuses
            growth = max(growth, watch.peak_growth / 1e6)
        results = {"disk_mb_s": statistics.median(disk), "upload_mb_s": statistics.median(upload),
                   "rss_growth_mb": growth}
        results["upload_vs_disk"] = results["upload_mb_s"] / results["disk_mb_s"]
        progress(f"{name}: the same PATCHes to a do-nothing app under the same gunicorn")
        results["gunicorn_floor_mb_s"] = statistics.median(sink_mb_s(url, instance, big_file) for _ in range(ROUNDS))
        results["upload_vs_gunicorn_floor"] = results["upload_mb_s"] / results["gunicorn_floor_mb_s"]
        progress(f"{name}: {PHONES} phones x {each // 1_000_000} MB at once")
        answers: list[list[int]] = [[] for _ in range(PHONES)]
        threads = [threading.Thread(target=lambda n=n: answers[n].extend(tus_upload(
            port, accounts[n + 1][0], accounts[n + 1][1], f"phone{n}", phone_files[n]))) for n in range(PHONES)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results["phones_seconds"] = time.perf_counter() - started
        results["phones_5xx"] = sum(1 for statuses in answers for status in statuses if status >= 500)
        results["phones_sha256_equal"] = sum(stored_sha256(app, f"phone{n}", each) == sums[n] for n in range(PHONES))
        progress(f"{name}: Range requests for the first 1 MB of a ready 10-second 720p clip")
        clip = Path(make_clip(folder / "clip.mp4", seconds=10, width=1280, height=720, gps=True))
        tus_upload(port, accounts[-1][0], accounts[-1][1], "ready", clip)
        subprocess.run([str(FLASK), "--app", "backend", "videos", "process"], check=True, cwd=ROOT,
                       env=environment(url, instance), stdout=subprocess.DEVNULL)
        samples = first_byte_ms(port, accounts[-1][0], "ready", 50 if quick else 200)
        results.update(range_first_byte_p50_ms=statistics.median(samples),
                       range_first_byte_p95_ms=percentile(samples, 0.95))
        with app.app_context():
            assert db.session.get(EpisodeVideo, "ready").status == "ready"
    finally:
        server.terminate()
        server.wait(timeout=30)
        with app.app_context():
            db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller files")
    args = parser.parse_args()
    results = {}
    for name, url in databases():
        try:
            results[name] = bench_database(name, url, args.quick)
            progress(f"{name}: {json.dumps({k: round(v, 2) for k, v in results[name].items()})}")
        finally:
            if name == "postgresql":
                drop_postgres(url)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("video_upload-quick.json" if args.quick else "video_upload.json")).write_text(json.dumps(
        {"quick": args.quick, "chunk_bytes": CHUNK, "phones": PHONES, "results": results}, indent=2))


if __name__ == "__main__":
    main()
