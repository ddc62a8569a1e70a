"""A web worker starts light (issue 23, item 5): the statistics, plotting, PDF, video and FHIR libraries are
imported on their first use, and gunicorn's workers, forked from the app the master built, serve both databases."""
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from tests.helpers import PASSWORD, free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
HEAVY = ("matplotlib", "numpy", "scipy", "statsmodels", "reportlab", "PIL", "av", "fhir", "segno", "zxcvbn")
# what a worker's memory map shows once each is loaded (their compiled parts)
HEAVY_LIBRARIES = ("numpy", "matplotlib", "scipy", "reportlab", "PIL", "/av/", "pillow")


def _environment(database_url: str, instance: Path) -> dict:
    return {**os.environ, "DATABASE_URL": database_url, "MYODIARY_INSTANCE_DIR": str(instance),
            "SECRET_KEY": "imports-secret", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST_KIB": "64",
            "LOG_LEVEL": "WARNING"}


def test_create_app_imports_no_statistics_plotting_pdf_video_or_fhir_library(tmp_path):
    script = ("import json, sys\nfrom backend import create_app\ncreate_app()\n"
              f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))")
    env = _environment(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_without_an_otlp_endpoint_nothing_of_opentelemetry_is_imported(tmp_path):
    """Traces cost nothing unless OTEL_EXPORTER_OTLP_ENDPOINT is set (issue 24); and importing the package, as
    gunicorn does for its configuration, imports no prometheus_client either: gunicorn_config must first set
    PROMETHEUS_MULTIPROC_DIR, which prometheus_client reads once, on import."""
    script = ("import json, sys\nimport backend\nearly = [name for name in ('prometheus_client', 'opentelemetry') "
              "if name in sys.modules]\nbackend.create_app()\n"
              "print(json.dumps([early, sorted({name.split('.')[0] for name in sys.modules "
              "if name.startswith('opentelemetry')})]))")
    env = _environment(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path)
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == [[], []]
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"  # nothing listens: spans are dropped, never awaited
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == [[], ["opentelemetry"]]


def test_gunicorns_configuration_puts_prometheus_client_in_multiprocess_mode(tmp_path):
    script = ("import json, os\nimport backend.gunicorn_config as config\nfrom prometheus_client import values\n"
              "print(json.dumps([os.environ['PROMETHEUS_MULTIPROC_DIR'] == config.METRICS_FOLDER, "
              "values.ValueClass.__name__]))")
    env = {**_environment(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_99999.db").write_bytes(b"a previous run's")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == [True, "MmapedValue"]
    assert list((tmp_path / "metrics").iterdir()) == []  # emptied before this run counts anything


def _call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=60) as response:
        data = response.read()
        return response.status, response.headers["Content-Type"], data


def _worker_maps(master: int) -> list[str]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [Path(f"/proc/{pid}/maps").read_text() for pid in children]


def test_gunicorn_workers_forked_from_the_built_app_write_and_read_and_load_charts_on_first_use(app, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    port, log_path = free_port(), tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([str(GUNICORN), "-c", "python:backend.gunicorn_config", "--workers", "2",
                                   "--bind", f"127.0.0.1:{port}", "backend:create_app()"],
                                  cwd=ROOT, env=_environment(url, tmp_path / "instance"), stdout=log,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _call(base, "GET", "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, log_path.read_text()
                time.sleep(0.2)
        email = f"fork-{uuid.uuid4().hex[:6]}@example.org"
        _call(base, "POST", "/api/v1/users", {"email": email, "password": PASSWORD, "name": "F", "role": "caregiver"})
        token = json.loads(_call(base, "POST", "/api/v1/tokens", {"email": email, "password": PASSWORD})[2])["token"]
        child = json.loads(_call(base, "POST", "/api/v1/children", {
            "name": "Fork", "birth_date": "2026-09-01", "timezone": "Europe/Berlin", "condition": "bnsm"}, token)[2])
        for minute in range(10):  # both workers write, each on its own connections
            status, _, _ = _call(base, "POST", f"/api/v1/children/{child['id']}/episodes", {
                "started_at": f"2026-11-28T02:{minute:02d}:00+01:00", "duration_seconds": 30,
                "timezone": "Europe/Berlin", "sleep_state": "asleep", "stopped_when_woken": "yes", "side": "both"},
                token)
            assert status == 201
        for _ in range(4):
            items = json.loads(_call(base, "GET", f"/api/v1/children/{child['id']}/episodes", token=token)[2])
            assert len(items["items"]) == 10
        for maps in _worker_maps(server.pid):
            assert not [name for name in HEAVY_LIBRARIES if name in maps]

        status, content_type, png = _call(base, "GET", f"/api/v1/children/{child['id']}/trends/chart.png",
                                          token=token)
        assert (status, content_type, png[:4]) == (200, "image/png", b"\x89PNG")
    finally:
        server.terminate()
        server.wait(timeout=20)
