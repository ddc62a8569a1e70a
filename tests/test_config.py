"""Configuration from the environment, with safe defaults."""
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade

from backend import create_app
from backend.config import ConfigError, database_url
from backend.extensions import db
from tests.helpers import PASSWORD, config_for


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    config = config_for("sqlite://", APP_ENV="production", SECRET_KEY=None, INSTANCE_DIR=str(tmp_path))
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(config)


def test_development_generates_a_secret_key_once_and_keeps_it(tmp_path):
    config = config_for("sqlite://", SECRET_KEY=None, INSTANCE_DIR=str(tmp_path))
    first = create_app(config).config["SECRET_KEY"]
    assert len(first) >= 40
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert create_app(config).config["SECRET_KEY"] == first


def test_database_url_defaults_to_sqlite_under_instance():
    assert database_url(None).startswith("sqlite:///") and "/instance/" in database_url(None)


@pytest.mark.parametrize("given", ["postgres://u@h/db", "postgresql://u@h/db"])
def test_postgresql_urls_use_psycopg_3(given):
    assert database_url(given) == "postgresql+psycopg://u@h/db"


def test_cors_answers_only_configured_origins(client):
    allowed = client.get("/healthz", headers={"Origin": "https://app.example.org"})
    assert allowed.headers.get("Access-Control-Allow-Origin") is None  # not an API path
    api_allowed = client.options("/api/v1/me", headers={
        "Origin": "https://app.example.org", "Access-Control-Request-Method": "GET"})
    assert api_allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    api_denied = client.options("/api/v1/me", headers={
        "Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in api_denied.headers


@pytest.mark.config(TOKEN_LIFETIME_HOURS=2)
def test_token_lifetime_is_configurable(client, api):
    account = api.register()
    response = client.post("/api/v1/tokens", json={"email": account.email, "password": PASSWORD})
    lifetime = datetime.fromisoformat(response.json["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=1, minutes=59) < lifetime <= timedelta(hours=2)


def mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_the_instance_folder_the_sqlite_file_and_the_key_are_private_to_the_service(tmp_path):
    previous = os.umask(0o022)  # a laptop's usual umask
    try:
        instance = tmp_path / "instance"
        app = create_app(config_for(f"sqlite:///{instance / 'diary.sqlite3'}", SECRET_KEY=None,
                                    INSTANCE_DIR=str(instance)))
        with app.app_context():
            upgrade()
            with db.engine.connect() as open_connection:  # the WAL files exist while a connection is open
                open_connection.exec_driver_sql("SELECT 1")
                files = {path.name: mode(path) for path in instance.iterdir()}
            db.engine.dispose()
    finally:
        os.umask(previous)
    assert mode(instance) == 0o700
    assert files == dict.fromkeys(("secret_key", "diary.sqlite3", "diary.sqlite3-wal", "diary.sqlite3-shm"), 0o600)


def test_emails_written_as_files_are_private(app, tmp_path):
    from backend.mail.transport import Envelope, FileMailer

    previous = os.umask(0o022)
    try:
        with FileMailer(tmp_path / "outbox") as mailer:
            path = mailer.send(Envelope("a@example.org", ("b@example.org",), b"Subject: x\r\n\r\nbody"), "r1")
    finally:
        os.umask(previous)
    assert mode(tmp_path / "outbox") == 0o700 and mode(Path(path)) == 0o600


def test_a_family_document_written_to_a_file_is_private(app, api, tmp_path):
    owner = api.register()
    out = tmp_path / "family.json"
    previous = os.umask(0o022)
    try:
        result = app.test_cli_runner().invoke(args=["data", "export", "--email", owner.email, "--out", str(out)])
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600 and owner.email in out.read_text()
