"""Video storage in an S3-compatible bucket (AWS, SeaweedFS, Garage, moto): VIDEO_STORAGE=s3.

Credentials come from boto3's standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, an
instance role); the region from AWS_DEFAULT_REGION, else us-east-1; S3_ENDPOINT_URL empty means AWS
itself. Path-style addressing ("endpoint/bucket/key"), which every self-hosted store understands.

Nothing is held whole in memory. A stream goes up as a multipart upload of 8 MiB parts read one after
the other into one reused buffer (S3's parts are 5 MiB at least), so an upload in progress holds about
one part whatever its length; reads come down in READ_BLOCK blocks.
"""
import contextlib
import io
import os
import shutil
from collections.abc import Iterator
from typing import BinaryIO

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from backend.videos.storage.base import READ_BLOCK

PART_BYTES = 8 * 1024 * 1024
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
LIST_PAGE = 1000  # keys per ListObjectsV2 page (S3's own maximum)
MISSING_KEY_CODES = {"404", "NoSuchKey", "NotFound"}


class BucketMissing(RuntimeError):
    """The configured bucket does not exist: a deployment mistake, not a missing object."""


def _fill(stream: BinaryIO, buffer: bytearray) -> int:
    """Read into the buffer until it is full or the stream ends; the bytes read.

    A network stream's read(n) gives what has arrived, often less than n: b"" alone means the end."""
    filled = 0
    while filled < len(buffer) and (block := stream.read(len(buffer) - filled)):
        buffer[filled:filled + len(block)] = block
        filled += len(block)
    return filled


class _Part(io.RawIOBase):
    """The first bytes of the part buffer as a read-only, seekable file: botocore hashes it, sends it and
    rewinds it for a retry without a copy of the part."""

    def __init__(self, view: memoryview):
        self._view = view
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        count = min(len(target), len(self._view) - self._at)
        target[:count] = self._view[self._at:self._at + count]
        self._at += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: len(self._view)}[whence]
        self._at = max(0, min(base + offset, len(self._view)))
        return self._at

    def tell(self) -> int:
        return self._at


def _transfer_config() -> TransferConfig:
    """For put_file: a seekable file, which s3transfer reads part by part as each is sent."""
    return TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES, max_concurrency=2,
                          preferred_transfer_client="classic")  # not the CRT client: its memory is its own


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Storage:
    name = "s3"

    def __init__(self, endpoint_url: str | None, bucket: str, *, attempts: int = 5):
        """`attempts`: tries of each request (botocore's standard retries, with backoff)."""
        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        region = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        options = {"s3": {"addressing_style": "path"}, "signature_version": "s3v4",
                   "retries": {"mode": "standard", "max_attempts": attempts},
                   "connect_timeout": 5, "read_timeout": 60}  # a store out of reach fails in seconds
        try:  # botocore >= 1.36 adds CRC checksums to every upload; send them only where S3 requires them
            config = Config(**options, request_checksum_calculation="when_required",
                            response_checksum_validation="when_required")
        except TypeError:
            config = Config(**options)
        # A client of its own session: clients are thread-safe, the default session is not.
        self.client = boto3.session.Session().client("s3", endpoint_url=self.endpoint_url,
                                                     region_name=region, config=config)
        self._transfer = _transfer_config()
        self._bucket_seen = False

    # Errors -----------------------------------------------------------------------------------

    def _bucket_missing(self) -> BucketMissing:
        where = self.endpoint_url or "AWS S3"
        return BucketMissing(f"the bucket {self.bucket!r} (S3_BUCKET) does not exist at {where}: "
                             "create it, or set S3_BUCKET to an existing bucket")

    def _translate(self, error: Exception, key: str | None = None) -> Exception:
        """A missing bucket as BucketMissing, a missing object as FileNotFoundError, else the error."""
        text = str(error)
        code = _error_code(error) if isinstance(error, ClientError) else ""
        if code == "NoSuchBucket" or "NoSuchBucket" in text:
            return self._bucket_missing()
        if key is not None and (code in MISSING_KEY_CODES):
            if not self._bucket_exists():
                return self._bucket_missing()
            return FileNotFoundError(f"no object {key!r} in the bucket {self.bucket!r}")
        return error

    def _bucket_exists(self) -> bool:
        """Asked once per instance, when an object turns out to be missing (a 404 says no more)."""
        if self._bucket_seen:
            return True
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if _error_code(error) in {"404", "NoSuchBucket", "NotFound"}:
                return False
            raise
        self._bucket_seen = True
        return True

    # The Storage protocol ---------------------------------------------------------------------

    def write_stream(self, key: str, stream: BinaryIO) -> int:
        """One PutObject when the stream ends within the first part, else a multipart upload, completed
        at the end of the stream and aborted on any error: no reader ever sees half an object."""
        buffer = bytearray(PART_BYTES)
        view = memoryview(buffer)
        filled = _fill(stream, buffer)
        try:
            if filled < PART_BYTES:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=_Part(view[:filled]))
                return filled
            upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        except ClientError as error:
            raise self._translate(error) from error
        written, parts = 0, []
        try:
            while filled:
                answer = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload,
                                                 PartNumber=len(parts) + 1, Body=_Part(view[:filled]))
                parts.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"]})
                written += filled
                filled = _fill(stream, buffer)
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                                  MultipartUpload={"Parts": parts})
        except BaseException as error:
            # A failed abort leaves the parts to the store's own clean-up: the first error is the one to report.
            with contextlib.suppress(ClientError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
            if isinstance(error, ClientError):
                raise self._translate(error) from error
            raise
        return written

    def put_file(self, key: str, path: str, content_type: str) -> None:
        try:
            self.client.upload_file(path, self.bucket, key, ExtraArgs={"ContentType": content_type},
                                    Config=self._transfer)
        except (ClientError, S3UploadFailedError) as error:
            raise self._translate(error) from error

    def _get(self, key: str, **arguments):
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, **arguments)["Body"]
        except ClientError as error:
            raise self._translate(error, key) from error

    def download(self, key: str, destination: BinaryIO) -> None:
        """Written at the destination's current position, in order (no seeking, unlike download_fileobj)."""
        body = self._get(key)
        try:
            shutil.copyfileobj(body, destination, READ_BLOCK)
        finally:
            body.close()

    def size(self, key: str) -> int | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as error:
            found = self._translate(error, key)
            if isinstance(found, FileNotFoundError):
                return None
            raise found from error

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        if length <= 0:
            return
        try:
            body = self._get(key, Range=f"bytes={start}-{start + length - 1}")
        except ClientError as error:
            if _error_code(error) == "InvalidRange":  # start past the end: nothing, as from a file
                return
            raise
        try:
            for block in body.iter_chunks(READ_BLOCK):
                if block:
                    yield block[:length]
                    length -= len(block)
                if length <= 0:
                    break
        finally:
            body.close()

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            raise self._translate(error) from error

    def _pages(self, prefix: str) -> Iterator[list[str]]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix,
                                              PaginationConfig={"PageSize": LIST_PAGE}):
                yield [entry["Key"] for entry in page.get("Contents", [])]
        except ClientError as error:
            raise self._translate(error) from error

    def delete_prefix(self, prefix: str) -> None:
        """Listed first, then deleted 1000 keys a request (deleting while listing may skip keys)."""
        found = [key for page in self._pages(prefix) for key in page]
        for first in range(0, len(found), DELETE_BATCH):
            batch = found[first:first + DELETE_BATCH]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
            except ClientError as error:
                raise self._translate(error) from error
            if answer.get("Errors"):
                failed = answer["Errors"][0]
                raise RuntimeError(f"{len(answer['Errors'])} objects under {prefix!r} not deleted, "
                                   f"{failed.get('Key')!r}: {failed.get('Code')} {failed.get('Message')}")

    def keys(self, prefix: str) -> list[str]:
        return sorted(key for page in self._pages(prefix) for key in page)
