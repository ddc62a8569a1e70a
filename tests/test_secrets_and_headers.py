"""Privacy basics: no secret in any log, security headers on every response, CORS only for the
configured origins, and a hostile child name shown escaped in the reminder email."""
import json
import logging
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flask_migrate import upgrade

from backend import create_app
from backend.extensions import db
from backend.logs import REDACTED, redact
from tests.helpers import PASSWORD, config_for

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
ALLOWED_ORIGIN = "https://app.example.org"  # tests.helpers.TestConfig.CORS_ORIGINS


# ---- logs ------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, _body(response.read(), response.headers.get_content_type())
    except urllib.error.HTTPError as error:
        return error.code, _body(error.read(), error.headers.get_content_type())


def _body(raw: bytes, content_type: str):
    return json.loads(raw or b"{}") if content_type == "application/json" else raw.decode()


@pytest.fixture
def served(tmp_path):
    """gunicorn with the shipped settings (backend.gunicorn_config) on a migrated SQLite file."""
    url = f"sqlite:///{tmp_path / 'logs.sqlite3'}"
    app = create_app(config_for(url, INSTANCE_DIR=str(tmp_path / "instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    port, log_path = _free_port(), tmp_path / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "logs-secret", "ARGON2_TIME_COST": "1",
           "ARGON2_MEMORY_COST_KIB": "64", "MYODIARY_INSTANCE_DIR": str(tmp_path / "instance"),
           "LOG_LEVEL": "INFO"}
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(GUNICORN), "-c", "python:backend.gunicorn_config", "--workers", "1",
                                    "--bind", f"127.0.0.1:{port}", "backend:create_app()"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while _healthz(base) != 200:
            assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()
            time.sleep(0.2)
        yield base, log_path
    finally:
        process.terminate()
        process.wait(timeout=20)


def _healthz(base: str) -> int | None:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
            return response.status
    except OSError:
        return None


def test_the_access_log_never_shows_a_password_token_invite_code_or_unsubscribe_token(served):
    base, log_path = served
    secrets = [PASSWORD]
    for email in ("owner@example.org", "nurse@example.org"):
        assert _call(base, "POST", "/api/v1/users", {"email": email, "password": PASSWORD, "name": "A",
                                                     "role": "caregiver"})[0] == 201
    owner = _call(base, "POST", "/api/v1/tokens", {"email": "owner@example.org", "password": PASSWORD})[1]["token"]
    other = _call(base, "POST", "/api/v1/tokens", {"email": "nurse@example.org", "password": PASSWORD})[1]["token"]
    child = _call(base, "POST", "/api/v1/children", {"name": "Ada", "birth_date": "2026-10-01",
                                                     "timezone": "Europe/Berlin", "condition": "bnsm"}, owner)[1]
    code = _call(base, "POST", f"/api/v1/children/{child['id']}/invites", {"role": "caregiver"}, owner)[1]["code"]
    assert _call(base, "POST", f"/api/v1/invites/{code}/accept", token=other)[0] == 200
    unsubscribe = "u-" + "s3cr3t" * 8
    assert _call(base, "GET", f"/api/v1/reminders/unsubscribe/{unsubscribe}")[0] in (400, 404, 410)
    assert _call(base, "GET", f"/api/v1/me?token={owner}&code={code}", token=owner)[0] == 200
    secrets += [owner, other, code, unsubscribe]

    time.sleep(0.5)  # gunicorn writes its access log line after the response
    log = log_path.read_text()
    assert log.count('"POST /api/v1/users') == 2, log  # the access log is there at all
    assert f"/api/v1/invites/{REDACTED}/accept" in log and f"/reminders/unsubscribe/{REDACTED}" in log
    for secret in secrets:
        assert secret not in log


@pytest.mark.fresh_app  # it adds a route
def test_the_apps_own_logs_blank_secrets_in_urls_and_tracebacks(app, client, caplog):
    def fail(code):
        raise RuntimeError(f"failed while accepting /api/v1/invites/{code}/accept")

    app.add_url_rule("/api/v1/invites/<code>/explode", "explode", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: a 500 and a log record, not a raise
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/invites/INVITE-CODE-123/explode", headers={"Authorization": "Bearer tok-9"})
    assert response.status_code == 500 and "INVITE-CODE-123" not in response.get_data(as_text=True)
    assert caplog.records, "the failure was logged"
    logged = "\n".join(handler.format(record) for record in caplog.records for handler in [caplog.handler])
    assert REDACTED in logged and "INVITE-CODE-123" not in logged


@pytest.mark.parametrize(("line", "kept"), [
    ("GET /api/v1/reminders/unsubscribe/abc.DEF-ghi_1 HTTP/1.1", "/api/v1/reminders/unsubscribe/"),
    ("POST /api/v1/invites/Q7X-9KD/accept HTTP/1.1", "/accept"),
    ("Authorization: Bearer abc.def-GHI_jkl", "Authorization: Bearer "),
    ("GET /x?token=abc&limit=5 HTTP/1.1", "&limit=5"),
])
def test_redact_blanks_the_secret_and_keeps_the_rest(line, kept):
    clean = redact(line)
    assert REDACTED in clean and kept in clean
    assert not any(secret in clean for secret in ("abc.DEF-ghi_1", "Q7X-9KD", "abc.def-GHI_jkl", "token=abc"))


# ---- headers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/children/nope", "/healthz", "/api/v1/openapi.json"])
def test_every_json_response_forbids_framing_sniffing_caching_and_loading(client, family, path):
    response = client.get(path, headers=family["owner"].headers)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP in development


def test_pages_keep_their_own_policy(client):
    docs, login = client.get("/api/docs"), client.get("/dashboard/login")
    assert "frame-ancestors 'none'" in docs.headers["Content-Security-Policy"]
    assert "script-src 'self'" in login.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in login.headers["Content-Security-Policy"]  # the dashboard's stricter policy wins


@pytest.mark.config(APP_ENV="production", SESSION_COOKIE_SECURE=True)
def test_production_pins_https(client):
    assert client.get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=31536000")


# ---- CORS ------------------------------------------------------------------------------------

def test_cors_answers_only_the_configured_origin(client, family):
    headers = family["owner"].headers
    allowed = client.get("/api/v1/me", headers={**headers, "Origin": ALLOWED_ORIGIN})
    foreign = client.get("/api/v1/me", headers={**headers, "Origin": "https://evil.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert "Access-Control-Allow-Credentials" not in allowed.headers  # bearer tokens, never cookies


def test_a_foreign_preflight_gets_no_permission(client):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    foreign = client.options("/api/v1/sync", headers={**preflight, "Origin": "https://evil.example"})
    allowed = client.options("/api/v1/sync", headers={**preflight, "Origin": ALLOWED_ORIGIN})
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


def test_the_dashboard_is_never_cross_origin(client):
    response = client.get("/dashboard/login", headers={"Origin": ALLOWED_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


# ---- a hostile name in an email ---------------------------------------------------------------

HOSTILE_NAME = "<img src=x onerror=alert(1)> Bobby'); DROP TABLE children;--"


def test_a_hostile_child_name_is_stored_verbatim_and_escaped_in_the_email(api, client):
    owner = api.register("caregiver")
    child = api.create_child(owner, name=HOSTILE_NAME)
    assert client.get(f"/api/v1/children/{child['id']}", headers=owner.headers).json["name"] == HOSTILE_NAME
    preview = client.get(f"/api/v1/children/{child['id']}/reminders/preview", headers=owner.headers)
    assert preview.status_code == 200, preview.json
    assert "<img src=x" not in preview.json["html"] and "&lt;img src=x onerror=alert(1)&gt;" in preview.json["html"]
    assert HOSTILE_NAME in preview.json["text"]  # plain text needs no escaping
    assert len(client.get("/api/v1/children", headers=owner.headers).json["items"]) == 1  # the table is there
