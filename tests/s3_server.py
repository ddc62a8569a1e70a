"""A real S3 server for the tests: moto's server mode, over HTTP on 127.0.0.1, with fake credentials.

boto3 is never mocked: the code under test talks HTTP to moto as it would to SeaweedFS or AWS.
Any test file gets the fixtures by importing them (tests/conftest.py does not register them):

    from tests.s3_server import s3_bucket, s3_endpoint  # noqa: F401

`s3_endpoint` (session): the server's URL, e.g. "http://127.0.0.1:40123"; the fake AWS variables stay
set for the whole session (one server per process, so per pytest-xdist worker).
`s3_bucket` (function): the name of a fresh, empty bucket, emptied and removed after the test.
`s3_client(endpoint)`: a plain boto3 client of that server, to arrange or check from outside the code.
"""
import functools
import uuid

import boto3
import pytest
from botocore.config import Config

FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Nothing from the developer's own AWS setup: no profile, no files, no endpoint override.
    "AWS_CONFIG_FILE": "/nonexistent/myodiary-tests/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/myodiary-tests/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
         "AWS_REGION")


@pytest.fixture(scope="session")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS_ENVIRONMENT.items():
            patch.setenv(name, value)
        for name in UNSET:
            patch.delenv(name, raising=False)
        patch.setenv("NO_PROXY", "127.0.0.1")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@functools.cache
def s3_client(endpoint: str):
    """A plain boto3 client of the test server, for setting up and checking from outside the code (made
    once: clients are thread-safe, and making one costs a few tenths of a second)."""
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))


@pytest.fixture
def s3_bucket(s3_endpoint):
    client = s3_client(s3_endpoint)
    name = f"myodiary-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    yield name
    # Emptied (moto keeps objects in memory) a first page at a time until none is left.
    while keys := [{"Key": entry["Key"]} for entry in client.list_objects_v2(Bucket=name).get("Contents", [])]:
        client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    client.delete_bucket(Bucket=name)
