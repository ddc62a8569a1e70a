"""LOG_FORMAT=json (issue 24): one JSON object per line, a line per request carrying the id its response gave,
scheduler runs with their id, and never a token, password or email address in any line."""
import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from backend import jobs
from backend.auth import login_required
from backend.observability.jobs import observed_job
from backend.observability.log_format import ContextFilter, JsonFormatter, TextFormatter
from tests.helpers import PASSWORD, ApiHelper, free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def _call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None,
          headers: dict | None = None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json", **(headers or {}),
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers["X-Request-ID"], json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers["X-Request-ID"], json.loads(error.read() or b"null")


@pytest.fixture
def json_server(app, tmp_path):
    """gunicorn, two workers, LOG_FORMAT=json, its output in a file; (base URL, log path)."""
    port, log_path = free_port(), tmp_path / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "LOG_FORMAT": "json",
           "MYODIARY_INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": "json-logs-secret", "LOG_LEVEL": "INFO",
           "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST_KIB": "64"}
    with log_path.open("wb") as log:
        server = subprocess.Popen([str(GUNICORN), "-c", "python:backend.gunicorn_config", "--workers", "2",
                                   "--bind", f"127.0.0.1:{port}", "backend:create_app()"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=5).close()
            break
        except OSError:
            assert time.monotonic() < deadline and server.poll() is None, log_path.read_text()
            time.sleep(0.2)
    yield base, log_path
    server.terminate()
    server.wait(timeout=20)


def test_one_json_line_per_request_with_the_responses_request_id_and_no_secret(json_server):
    base, log_path = json_server
    email = f"json-{uuid.uuid4().hex[:6]}@example.org"
    calls = [_call(base, "POST", "/api/v1/users", {"email": email, "password": PASSWORD, "name": "J",
                                                   "role": "caregiver"})]
    signed_in = _call(base, "POST", "/api/v1/tokens", {"email": email, "password": PASSWORD})
    token = signed_in[2]["token"]
    calls.append(signed_in)
    child = _call(base, "POST", "/api/v1/children", {"name": "Jo", "birth_date": "2026-09-01",
                                                     "timezone": "Europe/Berlin", "condition": "bnsm"}, token)
    calls.append(child)
    invite = _call(base, "POST", f"/api/v1/children/{child[2]['id']}/invites", {"role": "caregiver"}, token)
    calls.append(invite)
    code = invite[2]["code"]
    calls.append(_call(base, "POST", f"/api/v1/invites/{code}/accept", token=token))  # 4xx: own child
    calls.append(_call(base, "GET", f"/api/v1/me?token={token}&email={email}", token=token))
    calls.append(_call(base, "POST", "/api/v1/tokens", {"email": email, "password": "wrong-" + PASSWORD}))
    calls.append(_call(base, "GET", "/api/v1/nowhere", headers={"X-Request-ID": "proxy-7f3c"}))
    assert calls[-1][1] == "proxy-7f3c"

    time.sleep(0.5)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object, gunicorn's own included
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    requests = [entry for entry in entries if entry["logger"] == "backend.requests"]
    for status, request_id, _ in calls:
        (line,) = [entry for entry in requests if entry["request_id"] == request_id]
        assert line["status"] == status and line["duration_ms"] >= 0 and line["method"] in ("GET", "POST")
    by_id = {entry["request_id"]: entry for entry in requests}
    assert by_id[child[1]]["route"] == "/api/v1/children" and by_id[child[1]]["user_id"]
    assert by_id[calls[4][1]]["route"] == "/api/v1/invites/<code>/accept"
    assert by_id[calls[-1][1]]["route"] == "unmatched"
    assert "user_id" not in by_id[calls[0][1]]  # no caller yet
    for secret in (token, PASSWORD, email, code, email.split("@")[0]):
        assert not [line for line in lines if secret in line], secret


def _capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    logger = logging.getLogger(f"tests.json_logs.{uuid.uuid4().hex[:6]}")
    logger.addHandler(handler)
    logger.propagate, logger.level = False, logging.DEBUG
    return logger, stream


def test_a_json_line_carries_the_traceback_blanked_and_never_an_address():
    logger, stream = _capture(JsonFormatter())
    try:
        raise RuntimeError("sending to ana@clinic.example failed for /api/v1/invites/SECRET-CODE/accept")
    except RuntimeError:
        logger.exception("reminder for %s failed", "ana@clinic.example")
    (entry,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert entry["level"] == "ERROR" and entry["message"] == "reminder for [redacted] failed"
    assert "RuntimeError" in entry["exception"] and "SECRET-CODE" not in entry["exception"]
    assert "ana@clinic.example" not in stream.getvalue() and entry["time"].endswith("+00:00")


def test_records_inside_a_request_carry_its_id_route_and_caller(app):
    text_logger, text = _capture(TextFormatter())
    json_logger, lines = _capture(JsonFormatter())

    @app.get("/test-log/<thing>")
    @login_required
    def logging_view(thing):
        text_logger.info("inside")
        json_logger.info("inside")
        return {}

    client = app.test_client()
    owner = ApiHelper(client).register()
    response = client.get("/test-log/x", headers={"X-Request-ID": "req-42", **owner.headers})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "req-42"
    assert "[req-42]: inside" in text.getvalue()
    (entry,) = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert entry["request_id"] == "req-42" and entry["route"] == "/test-log/<thing>" and entry["method"] == "GET"
    assert entry["user_id"] == owner.id


def test_a_scheduler_job_run_logs_its_run_id_on_every_record():
    logger, stream = _capture(JsonFormatter())

    @observed_job("test-job")
    def job():
        logger.info("working")
        logger.info("done")

    job()
    job()
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [entry["job"] for entry in entries] == ["test-job"] * 4
    first, second = entries[0]["run_id"], entries[2]["run_id"]
    assert first == entries[1]["run_id"] and second == entries[3]["run_id"] and first != second
    logger.info("outside")
    assert "run_id" not in json.loads(stream.getvalue().splitlines()[-1])


def test_every_scheduler_job_is_observed():
    for job in (jobs.dispatch_job, jobs.account_emails_job, jobs.videos_job, jobs.purge_job):
        assert hasattr(job, "__wrapped__"), job.__name__


def test_text_stays_the_default(tmp_path):
    script = ("import logging\nfrom backend import create_app\ncreate_app()\n"
              "logging.getLogger('backend.check').warning('plain words')")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}", "SECRET_KEY": "x",
           "MYODIARY_INSTANCE_DIR": str(tmp_path)}
    env.pop("LOG_FORMAT", None)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    assert done.stderr.strip().endswith("WARNING backend.check: plain words")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, "LOG_FORMAT": "json"},
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stderr.strip().splitlines()[-1])["message"] == "plain words"
