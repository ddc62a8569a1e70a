"""Create the video bucket (S3_BUCKET at S3_ENDPOINT_URL) when it is missing; exit 0 once it exists.

Run once by docker-compose.yml's `s3-bucket` service, from the app's image, before the web servers and the
scheduler start: a new SeaweedFS starts without buckets, and the app never creates one itself (a missing
bucket is a configuration error it reports). It waits, up to S3_WAIT_SECONDS (120), while the store is
still starting. Uses the app's own S3 client (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
"""
import os
import sys
import time

from botocore.exceptions import BotoCoreError, ClientError

from backend.videos.storage.s3 import S3Storage

ABSENT = {"404", "NoSuchBucket", "NotFound"}
ALREADY_THERE = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


def ensure_bucket(endpoint_url: str | None, bucket: str, wait_seconds: float, pause: float = 1.0) -> str:
    """'exists' or 'created'; raises the last error once `wait_seconds` have passed without either."""
    client = S3Storage(endpoint_url, bucket, attempts=1).client  # this loop is the retrying
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            try:
                client.head_bucket(Bucket=bucket)
                return "exists"
            except ClientError as error:
                if str(error.response.get("Error", {}).get("Code")) not in ABSENT:
                    raise
            try:
                client.create_bucket(Bucket=bucket)
                return "created"
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ALREADY_THERE:  # another one just made it
                    return "exists"
                raise
        except (ClientError, BotoCoreError):  # not started yet, or not serving yet
            if time.monotonic() >= deadline:
                raise
        time.sleep(pause)


def main() -> int:
    bucket = os.environ.get("S3_BUCKET") or "myodiary-media"
    endpoint = os.environ.get("S3_ENDPOINT_URL") or None
    try:
        outcome = ensure_bucket(endpoint, bucket, float(os.environ.get("S3_WAIT_SECONDS") or 120))
    except (ClientError, BotoCoreError) as error:
        print(f"the bucket {bucket!r} (S3_BUCKET) could not be created at {endpoint or 'AWS S3'}: {error}",
              file=sys.stderr)
        return 1
    print(f"the bucket {bucket!r} {outcome} at {endpoint or 'AWS S3'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
