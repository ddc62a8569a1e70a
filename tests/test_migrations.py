"""The Alembic migrations build exactly the schema the models describe."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from backend import create_app
from backend.extensions import db
from tests.helpers import ApiHelper, config_for, run_sql

ONE_LINE_NAMES_PARENT = "a786be3f3b5c"  # the revision before names were made one line


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


def test_names_stored_before_names_were_one_line_are_made_one_line_and_sent_to_phones(empty_database_url, tmp_path):
    """Names with line breaks were accepted until issue 17: the migration folds them, and phones pull the change."""
    app = create_app(config_for(empty_database_url, INSTANCE_DIR=str(tmp_path)))
    with app.app_context():
        upgrade()  # the API runs on the schema it was written for; the old names are put back below
        client = app.test_client()
        api = ApiHelper(client)
        owner = api.register()
        child = api.create_child(owner, name="Mila")
        pulled = client.get("/api/v1/sync", headers=owner.headers).json["timestamp"]
        downgrade(revision=ONE_LINE_NAMES_PARENT)
        run_sql(app, "UPDATE children SET name = :name WHERE id = :id", name="Mila\r\nBcc: x\u2028y\x7f",
                id=child["id"])
        run_sql(app, "UPDATE users SET name = :name WHERE id = :id", name="Eve\n\tX-Injected: yes", id=owner.id)
        upgrade()
        me = client.get("/api/v1/me", headers=owner.headers).json
        changed = client.get("/api/v1/sync", query_string={"last_pulled_at": pulled}, headers=owner.headers).json
        db.engine.dispose()
    assert me["name"] == "Eve X-Injected: yes"
    assert [row["name"] for row in changed["changes"]["children"]["updated"]] == ["Mila Bcc: x y"]
