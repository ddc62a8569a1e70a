"""Configuration from the environment, with safe defaults."""
from datetime import UTC, datetime, timedelta

import pytest

from backend import create_app
from backend.config import ConfigError, database_url
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
