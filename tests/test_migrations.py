"""The Alembic migrations build exactly the schema the models describe."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from backend import create_app
from backend.extensions import db
from tests.helpers import config_for


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return request.getfixturevalue("scratch_database")()


def _pending_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_to_head_leaves_nothing_for_autogenerate(empty_database_url, tmp_path):
    app = create_app(config_for(empty_database_url, INSTANCE_DIR=str(tmp_path)))
    with app.app_context():
        upgrade()
        assert _pending_differences() == []
        db.engine.dispose()


def test_downgrade_to_base_and_back(empty_database_url, tmp_path):
    app = create_app(config_for(empty_database_url, INSTANCE_DIR=str(tmp_path)))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert {"users", "children", "memberships"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()
