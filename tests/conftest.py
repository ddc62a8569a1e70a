"""Fixtures: a real app on SQLite and, when reachable, on PostgreSQL; an HTTP client; helpers.

Every test that takes `app` (or `client`, `api`) runs once per database backend. The schema is
made by the Alembic migrations once per backend and session; rows are cleared after each test. Tests share
one app per backend and test process unless they need one of their own (`app`).
"""
import os
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from flask_migrate import upgrade

from backend import create_app
from backend.extensions import db, limiter
from backend.i18n import LOCALES, TRANSLATIONS
from tests.helpers import ApiHelper, Sink, config_for, free_port
from tests.pseudo_locale import PSEUDO, build_catalog

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_unreachable_reason() -> str | None:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        return f"PostgreSQL is not reachable at {POSTGRES_URL}: {str(error).strip()[:200]}"
    return None


@pytest.fixture(scope="session")
def postgres_server():
    """The admin URL of a reachable PostgreSQL server, or skip with the reason."""
    reason = _postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def scratch_database(postgres_server):
    """Factory of fresh PostgreSQL databases, all dropped at the end of the session."""
    created = []

    def make() -> str:
        name = f"myodiary_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        server = postgres_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{server}/{name}"

    yield make
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """One migrated database per backend for the whole session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    else:
        url = request.getfixturevalue("scratch_database")()
    app = create_app(config_for(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def pseudo_translations(tmp_path_factory) -> Path:
    """The pseudo-locale's catalog (tests/pseudo_locale.py), built once per test process."""
    return build_catalog(tmp_path_factory.mktemp("pseudo-locale"))


@pytest.fixture(scope="session")
def shared_apps(tmp_path_factory):
    """One app per database for the tests that need no settings of their own, made once per test process:
    building an app (its routes and its OpenAPI document) and warming SQLAlchemy's statement cache cost more
    than most tests. `app` puts it back as it was after every test (`_reset_shared`)."""
    apps: dict[str, tuple] = {}  # database URL: (the app, its settings as made)

    def get(database_url: str) -> tuple:
        if database_url not in apps:
            folder = tmp_path_factory.mktemp("shared-instance")
            made = create_app(config_for(database_url, INSTANCE_DIR=str(folder)))
            apps[database_url] = made, dict(made.config)
        return apps[database_url]

    yield get
    for shared, _ in apps.values():
        with shared.app_context():
            db.engine.dispose()


@pytest.fixture
def app(request, database_url, tmp_path, shared_apps):
    """The app on a clean database; `@pytest.mark.config(KEY=value)` overrides settings (and, like
    `@pytest.mark.fresh_app`, gives the test an app of its own instead of the shared one)."""
    marker = request.node.get_closest_marker("config")
    overrides = marker.kwargs if marker else {}
    if request.node.get_closest_marker("pseudo_locale"):
        overrides |= {"LOCALES": (*LOCALES, PSEUDO), "BABEL_TRANSLATION_DIRECTORIES":
                      f"{TRANSLATIONS};{request.getfixturevalue('pseudo_translations')}"}
    shared = not overrides and not request.node.get_closest_marker("fresh_app")
    if shared:
        app, settings = shared_apps(database_url)
    else:
        app = create_app(config_for(database_url, INSTANCE_DIR=str(tmp_path / "instance"), **overrides))
    with app.app_context():
        limiter.reset()
    yield app
    with app.app_context():
        _clear_tables()
        db.engine.dispose()
    if shared:
        _reset_shared(app, settings)


def _reset_shared(app, settings: dict) -> None:
    """What a test may have changed on the shared app: its settings, the storage made from them, its files."""
    app.config.clear()
    app.config.update(settings)
    app.extensions.pop("video_storage", None)
    instance = Path(app.config["INSTANCE_DIR"])
    shutil.rmtree(instance)
    instance.mkdir()


def _clear_tables() -> None:
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        if table.name == "sync_clock":
            continue  # versions only grow, as in production
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client):
    return ApiHelper(client)


@pytest.fixture
def family(api):
    """A child with its owner, a second caregiver and a clinician in its care team."""
    owner = api.register("caregiver")
    child = api.create_child(owner)
    second, clinician = api.register("caregiver"), api.register("clinician")
    api.join(owner, child["id"], second)
    api.join(owner, child["id"], clinician)
    return {"child": child, "owner": owner, "caregiver": second, "clinician": clinician}


@pytest.fixture
def smtp(app):
    """A real SMTP server on 127.0.0.1, and the app pointed at it."""
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    yield sink
    controller.stop()
