"""The video storage contract, run against both backends: `local` in a temporary folder and `s3` against
moto's real server (tests/s3_server.py). No app, no database."""
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backend.videos.storage import s3 as s3_module
from backend.videos.storage.base import READ_BLOCK
from backend.videos.storage.local import LocalStorage
from backend.videos.storage.s3 import BucketMissing, S3Storage
from tests.s3_server import s3_bucket, s3_client, s3_endpoint  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


class GeneratedStream:
    """`total` reproducible pseudo-random bytes from a generator, like a tus PATCH body: no seek, no tell,
    no length, and short reads (a network stream gives what has arrived, not what was asked)."""

    def __init__(self, total: int, seed: int = 19):
        self.total = total
        self.sha256 = hashlib.sha256()
        self._blocks = self._generate(total, random.Random(seed))
        self._left = b""
        self._short = random.Random(seed + 1)

    def _generate(self, total, rng):
        while total > 0:
            block = rng.randbytes(min(total, MB))
            self.sha256.update(block)
            total -= len(block)
            yield block

    def read(self, size: int = -1) -> bytes:
        if not self._left:
            self._left = next(self._blocks, b"")
        cut = len(self._left) if size is None or size < 0 else min(size, len(self._left))
        cut = min(cut, self._short.randint(1, 300 * 1024))
        data, self._left = self._left[:cut], self._left[cut:]
        return data


def generated_bytes(total: int, seed: int = 19) -> bytes:
    stream, blocks = GeneratedStream(total, seed), []
    while block := stream.read(MB):
        blocks.append(block)
    return b"".join(blocks)


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(str(tmp_path / "media"))
    return S3Storage(endpoint_url=request.getfixturevalue("s3_endpoint"),
                     bucket=request.getfixturevalue("s3_bucket"))


def read_all(storage, key: str, start: int, length: int) -> bytes:
    blocks = list(storage.read_range(key, start, length))
    assert all(0 < len(block) <= READ_BLOCK for block in blocks)
    return b"".join(blocks)


def downloaded(storage, key: str) -> bytes:
    destination = io.BytesIO()
    storage.download(key, destination)
    return destination.getvalue()


# Writing ------------------------------------------------------------------------------------------

def test_write_stream_of_a_non_seekable_stream_counts_and_stores_every_byte(storage, tmp_path):
    total = 20 * MB + 12345  # three 8 MiB parts on S3, the last one short
    stream = GeneratedStream(total)
    assert storage.write_stream("videos/v1/video.mp4", stream) == total
    assert storage.size("videos/v1/video.mp4") == total
    with open(tmp_path / "copy", "wb") as copy:
        copy.write(b"already here")
        storage.download("videos/v1/video.mp4", copy)  # appends at the file's position
    with open(tmp_path / "copy", "rb") as copy:
        assert copy.read(12) == b"already here"
        assert hashlib.sha256(copy.read()).hexdigest() == stream.sha256.hexdigest()


@pytest.mark.parametrize("total", [3 * MB + 7, 8 * MB - 1, 8 * MB, 8 * MB + 1])
def test_a_body_cut_short_stores_what_came_and_says_how_much(storage, total):
    """The PATCH body's stream turns a client's cut into its end: what came is stored, its length returned.
    Around S3's part size: one PutObject below it, a multipart upload from it on."""
    stream = GeneratedStream(total)
    assert storage.write_stream("uploads/v1/c1", stream) == total
    assert storage.size("uploads/v1/c1") == total
    assert hashlib.sha256(downloaded(storage, "uploads/v1/c1")).hexdigest() == stream.sha256.hexdigest()


class FailingStream(GeneratedStream):
    """A body whose reading fails after `fail_after` bytes (a worker stopped, a disk error)."""

    def __init__(self, total: int, fail_after: int):
        super().__init__(total)
        self._fail_after, self._given = fail_after, 0

    def read(self, size: int = -1) -> bytes:
        if self._given >= self._fail_after:
            raise OSError("the body could not be read")
        data = super().read(min(size, self._fail_after - self._given) if size and size > 0 else size)
        self._given += len(data)
        return data


@pytest.mark.parametrize("fail_after", [MB, 20 * MB])  # within the first part, and mid multipart upload
def test_a_failed_write_leaves_the_previous_object_and_nothing_half_written(storage, fail_after):
    storage.write_stream("videos/v1/video.mp4", io.BytesIO(b"the previous version"))
    with pytest.raises(OSError, match="could not be read"):
        storage.write_stream("videos/v1/video.mp4", FailingStream(30 * MB, fail_after))
    assert downloaded(storage, "videos/v1/video.mp4") == b"the previous version"
    with pytest.raises(OSError, match="could not be read"):
        storage.write_stream("videos/v2/video.mp4", FailingStream(30 * MB, fail_after))
    assert storage.size("videos/v2/video.mp4") is None
    assert storage.keys("videos/") == ["videos/v1/video.mp4"]


def test_small_and_empty_streams(storage):
    assert storage.write_stream("uploads/v1/empty", io.BytesIO(b"")) == 0
    assert storage.size("uploads/v1/empty") == 0
    assert downloaded(storage, "uploads/v1/empty") == b""
    assert storage.write_stream("uploads/v1/tiny", io.BytesIO(b"abc")) == 3
    assert downloaded(storage, "uploads/v1/tiny") == b"abc"


def test_writing_a_key_again_replaces_the_object(storage):
    storage.write_stream("videos/v1/video.mp4", io.BytesIO(b"first version, longer"))
    storage.write_stream("videos/v1/video.mp4", io.BytesIO(b"second"))
    assert downloaded(storage, "videos/v1/video.mp4") == b"second"
    assert storage.size("videos/v1/video.mp4") == 6


def test_put_file_stores_a_local_file(storage, tmp_path):
    path = tmp_path / "video.mp4"
    path.write_bytes(generated_bytes(9 * MB + 1, seed=7))  # multipart on S3 too
    storage.put_file("videos/v2/video.mp4", str(path), "video/mp4")
    assert downloaded(storage, "videos/v2/video.mp4") == path.read_bytes()


def test_one_instance_serves_several_threads(storage):
    def write(number: int) -> int:
        return storage.write_stream(f"uploads/v{number}/c1", GeneratedStream(MB + number, seed=number))

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(write, range(6))) == [MB + number for number in range(6)]
    for number in range(6):
        assert downloaded(storage, f"uploads/v{number}/c1") == generated_bytes(MB + number, seed=number)


# Reading ------------------------------------------------------------------------------------------

def test_read_range_gives_the_bytes_asked_in_blocks(storage):
    data = generated_bytes(3 * READ_BLOCK + 1000, seed=3)
    storage.write_stream("videos/v1/video.mp4", io.BytesIO(data))
    size = len(data)
    for start, length in [(0, 1), (0, 100), (0, size), (1, size - 1), (size // 2, 5000),
                          (READ_BLOCK - 1, READ_BLOCK + 2), (size - 1, 1), (size - 10, 10)]:
        assert read_all(storage, "videos/v1/video.mp4", start, length) == data[start:start + length]
    assert read_all(storage, "videos/v1/video.mp4", size - 10, 1000) == data[-10:]  # past the end: cut
    assert read_all(storage, "videos/v1/video.mp4", size, 10) == b""
    assert read_all(storage, "videos/v1/video.mp4", 5, 0) == b""


def test_read_range_stopped_early_leaves_nothing_open(storage):
    storage.write_stream("videos/v1/video.mp4", io.BytesIO(generated_bytes(4 * READ_BLOCK)))
    for _ in range(20):  # more than botocore's pool of 10 connections: each closed reader gave its own back
        blocks = storage.read_range("videos/v1/video.mp4", 0, 4 * READ_BLOCK)
        assert len(next(blocks)) > 0
        blocks.close()
    assert storage.size("videos/v1/video.mp4") == 4 * READ_BLOCK


def test_a_missing_object_has_no_size_and_cannot_be_read(storage):
    assert storage.size("videos/nothing/video.mp4") is None
    with pytest.raises(FileNotFoundError):
        list(storage.read_range("videos/nothing/video.mp4", 0, 10))
    with pytest.raises(FileNotFoundError):
        storage.download("videos/nothing/video.mp4", io.BytesIO())


# Deleting and listing -----------------------------------------------------------------------------

def test_delete_removes_the_object_and_a_missing_one_is_no_error(storage):
    storage.write_stream("uploads/v1/c1", io.BytesIO(b"chunk"))
    storage.delete("uploads/v1/c1")
    assert storage.size("uploads/v1/c1") is None
    storage.delete("uploads/v1/c1")
    storage.delete("uploads/never/c1")


def test_keys_and_delete_prefix_stay_inside_the_folder(storage):
    for key in ["uploads/v1/c1", "uploads/v1/c2", "uploads/v1/c10", "uploads/v10/c1", "uploads/v2/c1",
                "videos/v1/video.mp4"]:
        storage.write_stream(key, io.BytesIO(key.encode()))
    assert storage.keys("uploads/v1/") == ["uploads/v1/c1", "uploads/v1/c10", "uploads/v1/c2"]
    assert storage.keys("uploads/") == ["uploads/v1/c1", "uploads/v1/c10", "uploads/v1/c2", "uploads/v10/c1",
                                        "uploads/v2/c1"]
    assert storage.keys("uploads/none/") == []
    storage.delete_prefix("uploads/v1/")
    assert storage.keys("uploads/") == ["uploads/v10/c1", "uploads/v2/c1"]
    assert storage.keys("videos/") == ["videos/v1/video.mp4"]
    storage.delete_prefix("uploads/none/")  # nothing there: no error
    storage.delete_prefix("uploads/")
    assert storage.keys("uploads/") == [] and storage.size("videos/v1/video.mp4") == 19


# Local only ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["../outside", "uploads/../../outside", "/etc/passwd", "", "."])
def test_local_refuses_a_key_outside_its_folder(tmp_path, key):
    storage = LocalStorage(str(tmp_path / "media"))
    with pytest.raises(ValueError, match="outside the media folder"):
        storage.write_stream(key, io.BytesIO(b"x"))
    with pytest.raises(ValueError):
        storage.size(key)
    assert not (tmp_path / "outside").exists()


# S3 only ------------------------------------------------------------------------------------------

def test_s3_lists_and_deletes_page_after_page(s3_endpoint, s3_bucket, monkeypatch):  # noqa: F811
    """Pages of 7 keys and DeleteObjects batches of 5 instead of S3's 1000 each: the same loops, quickly."""
    monkeypatch.setattr(s3_module, "LIST_PAGE", 7)
    monkeypatch.setattr(s3_module, "DELETE_BATCH", 5)
    storage = S3Storage(s3_endpoint, s3_bucket)
    client = s3_client(s3_endpoint)
    many = [f"uploads/v1/{number:03d}" for number in range(23)]
    for key in [*many, "uploads/v2/000", "uploads/v10/000"]:
        client.put_object(Bucket=s3_bucket, Key=key, Body=b".")
    calls = []
    storage.client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    assert storage.keys("uploads/v1/") == many
    storage.delete_prefix("uploads/v1/")
    assert storage.keys("uploads/") == ["uploads/v10/000", "uploads/v2/000"]
    assert calls.count("DeleteObjects") == 5 and calls.count("ListObjectsV2") == 4 + 4 + 1


def test_s3_uses_path_style_addresses_and_the_default_region(s3_endpoint, s3_bucket, monkeypatch):  # noqa: F811
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    storage = S3Storage(s3_endpoint, s3_bucket)
    assert storage.client.meta.region_name == "us-east-1"
    assert storage.client.meta.config.s3["addressing_style"] == "path"
    seen = []
    storage.client.meta.events.register("before-send.s3", lambda request, **_: seen.append(request.url))
    storage.write_stream("videos/v1/video.mp4", io.BytesIO(b"x"))
    assert seen[0].startswith(f"{s3_endpoint}/{s3_bucket}/videos/v1/video.mp4")


def test_s3_stores_the_content_type_of_put_file(s3_endpoint, s3_bucket, tmp_path):  # noqa: F811
    path = tmp_path / "poster.jpg"
    path.write_bytes(b"\xff\xd8\xff")
    S3Storage(s3_endpoint, s3_bucket).put_file("videos/v1/poster.jpg", str(path), "image/jpeg")
    head = s3_client(s3_endpoint).head_object(Bucket=s3_bucket, Key="videos/v1/poster.jpg")
    assert head["ContentType"] == "image/jpeg"


def test_s3_names_s3_bucket_when_the_bucket_does_not_exist(s3_endpoint):  # noqa: F811
    storage = S3Storage(s3_endpoint, "no-such-bucket-here")
    calls = [lambda: storage.write_stream("uploads/v1/c1", io.BytesIO(b"x")),
             lambda: storage.write_stream("uploads/v1/c1", GeneratedStream(9 * MB)),  # multipart
             lambda: storage.size("uploads/v1/c1"),
             lambda: list(storage.read_range("uploads/v1/c1", 0, 1)),
             lambda: storage.download("uploads/v1/c1", io.BytesIO()),
             lambda: storage.keys("uploads/"),
             lambda: storage.delete("uploads/v1/c1"),
             lambda: storage.delete_prefix("uploads/")]
    for call in calls:
        with pytest.raises(BucketMissing, match="'no-such-bucket-here' \\(S3_BUCKET\\) does not exist"):
            call()


def test_make_storage_picks_s3_from_the_configuration(s3_endpoint):  # noqa: F811
    from backend.videos.storage import make_storage
    made = make_storage({"VIDEO_STORAGE": "s3", "S3_ENDPOINT_URL": s3_endpoint, "S3_BUCKET": "media"})
    assert isinstance(made, S3Storage) and made.name == "s3" and made.bucket == "media"
    assert make_storage({"VIDEO_STORAGE": "s3", "S3_ENDPOINT_URL": "", "S3_BUCKET": "b"}).endpoint_url is None


def test_s3_abandons_a_failed_multipart_upload(s3_endpoint, s3_bucket):  # noqa: F811
    with pytest.raises(OSError):
        S3Storage(s3_endpoint, s3_bucket).write_stream("videos/v1/video.mp4", FailingStream(30 * MB, 20 * MB))
    assert s3_client(s3_endpoint).list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


MEMORY_PROBE = textwrap.dedent("""
    import json, re, sys
    from backend.videos.storage.s3 import S3Storage
    from tests.test_video_storage import GeneratedStream

    def kib(field):
        return int(re.search(rf"^{field}:\\s+(\\d+) kB", open("/proc/self/status").read(), re.M)[1])

    storage = S3Storage(sys.argv[1], sys.argv[2])
    storage.size("videos/none/video.mp4")  # botocore loads its S3 model on the first request: not the upload's
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak RSS (VmHWM) starts again from the current RSS
    before = kib("VmRSS")
    stream = GeneratedStream(int(sys.argv[3]))
    written = storage.write_stream("videos/big/video.mp4", stream)
    print(json.dumps({"written": written, "growth_kib": kib("VmHWM") - before}))
""")


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux's /proc/self/clear_refs")
def test_s3_write_stream_of_200_mb_keeps_memory_bounded(s3_endpoint, s3_bucket):  # noqa: F811
    """In a process of its own, so that the peak RSS is the upload's alone (moto's server runs in this one)."""
    total = 200 * 1000 * 1000
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE, s3_endpoint, s3_bucket, str(total)],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    growth_mib = found["growth_kib"] / 1024
    print(f"S3 write_stream of {total / 1e6:.0f} MB: peak RSS grew {growth_mib:.1f} MiB "
          f"in {time.monotonic() - started:.1f} s")
    assert found["written"] == total
    assert growth_mib < 32  # one 8 MiB part buffer and the HTTP machinery, whatever the length
    head = s3_client(s3_endpoint).head_object(Bucket=s3_bucket, Key="videos/big/video.mp4")
    assert head["ContentLength"] == total
    assert head["ETag"].strip('"').endswith(f"-{-(-total // (8 * MB))}")  # sent as 24 parts of 8 MiB


def test_generated_stream_is_non_seekable_and_reads_short():
    stream = GeneratedStream(3 * MB)
    assert not hasattr(stream, "seek") and not hasattr(stream, "tell")
    sizes = [len(stream.read(MB)) for _ in range(5)]
    assert all(0 < size <= 300 * 1024 for size in sizes)
