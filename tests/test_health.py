"""Liveness and readiness probes."""
from backend import create_app
from tests.helpers import assert_error, config_for


def test_healthz_answers_while_the_process_lives(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "scheduler": "absent"}}


def test_readyz_is_503_when_the_database_is_down(tmp_path):
    # Nothing listens on port 1: connecting fails at once.
    app = create_app(config_for("postgresql+psycopg://postgres@127.0.0.1:1/none",
                                INSTANCE_DIR=str(tmp_path),
                                SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}}))
    body = assert_error(app.test_client().get("/readyz"), 503)
    assert body["errors"] == {"database": ["unreachable"]}
    assert app.test_client().get("/healthz").status_code == 200
