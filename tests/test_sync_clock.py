"""The sync clock on PostgreSQL (issue 23): transaction ids instead of one counter row every write waited for.

What only PostgreSQL can show, with a second connection holding a transaction open beside the app: a record
in flight at a pull arrives at the next pull, created once; a creation committed above the version a pull has
seen whole waits for the next pull instead of arriving twice, and arrives even when an older transaction has
changed it since; a transaction in another database holds nothing back here, even one that ends as a pull
begins; a push never overwrites a change that committed while it waited (409); and a database migrated from the
counter keeps every timestamp its phones hold valid.
"""
import threading

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, event, make_url, text

from backend import create_app
from backend.extensions import db
from tests.helpers import ApiHelper, config_for, episode_body
from tests.sync_helpers import Phone, changes, ids, raw_episode

COUNTER_REVISION = "0b3e5c8f7a21"  # the last revision with the counter (sync_counter)
OWN_VERSION = "pg_current_xact_id()::text::bigint + (SELECT xid_offset FROM sync_clock WHERE id = 1)"


@pytest.fixture
def database(scratch_database):
    return scratch_database()


@pytest.fixture
def app(database, tmp_path):
    app = create_app(config_for(database, INSTANCE_DIR=str(tmp_path / "instance")))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def api(app):
    return ApiHelper(app.test_client())


@pytest.fixture
def family(api):
    mum, dad = api.register(), api.register()
    child = api.create_child(mum)
    api.join(mum, child["id"], dad)
    return mum, dad, child["id"]


class OpenTransaction:
    """A second session, as another web worker mid-request: it writes, and commits only when told."""

    def __init__(self, url: str):
        self.engine = create_engine(url)
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()

    def execute(self, sql: str, **params):
        return self.connection.execute(text(sql), params)

    def commit(self) -> None:
        self.transaction.commit()
        self.connection.close()
        self.engine.dispose()


def insert_episode(session: OpenTransaction, record_id: str, child_id: str, user_id: str) -> None:
    session.execute(f"""INSERT INTO episodes (id, child_id, logged_by, started_at, duration_seconds, timezone,
        sleep_state, stopped_when_woken, side, body_parts, signs, triggers, created_at, updated_at, version,
        created_version) VALUES (:id, :child, :user, now() - interval '1 day', 30, 'Europe/Berlin', 'asleep',
        'yes', 'both', '["arms"]', '[]', '[]', now(), now(), {OWN_VERSION}, {OWN_VERSION})""",
                    id=record_id, child=child_id, user=user_id)


def test_a_record_in_flight_at_a_pull_arrives_at_the_next_one_and_a_later_commit_waits_for_it(app, database,
                                                                                                family):
    mum, dad, child_id = family
    client = app.test_client()
    mums_phone, dads_phone = Phone(client, mum, "mum-phone"), Phone(client, dad, "dad-phone")
    dads_phone.pull()
    mums_phone.pull()
    worker = OpenTransaction(database)  # another worker's request, begun before mum's push
    insert_episode(worker, "in-flight-1", child_id, dad.id)
    assert mums_phone.push(changes(episodes={"created": [raw_episode("pushed-1", child_id)]})).status_code == 200
    seen = dads_phone.pull()  # the push committed, but above the version seen whole: the in-flight one is older
    assert ids(seen["episodes"], "created") == set() and ids(seen["episodes"], "updated") == set()
    worker.commit()
    after = dads_phone.pull()
    assert ids(after["episodes"], "created") == {"in-flight-1", "pushed-1"}
    assert ids(after["episodes"], "updated") == set()
    again = dads_phone.pull()
    assert not any(again["episodes"].values())
    assert ids(mums_phone.pull()["episodes"], "created") == {"in-flight-1"}  # and "pushed-1" is mum's own


def test_a_record_changed_by_an_older_transaction_than_its_creation_still_arrives(app, database, family):
    """Transaction ids are given at a transaction's first write, not at its commit: a write that took its id
    before a record's creation committed can change it after (mum's REST edit of the record her phone had
    just pushed, on a worker whose request had written already). The record then carries a version below
    its creation's. A pull that held the creation back must have the next pull read it all the same."""
    mum, dad, child_id = family
    client = app.test_client()
    mums_phone, dads_phone = Phone(client, mum, "mum-phone"), Phone(client, dad, "dad-phone")
    dads_phone.pull()
    older = OpenTransaction(database)  # mum's edit, on another worker: its transaction id comes first
    older.execute("SELECT pg_current_xact_id()")
    in_between = OpenTransaction(database)  # anything else running meanwhile, begun after it
    in_between.execute("SELECT pg_current_xact_id()")
    assert mums_phone.push(changes(episodes={"created": [raw_episode("pushed-1", child_id)]})).status_code == 200
    older.execute(f"UPDATE episodes SET notes = 'edited', version = {OWN_VERSION} WHERE id = 'pushed-1'")
    older.commit()
    held = dads_phone.pull()  # created above the version seen whole (in_between runs): held back
    assert ids(held["episodes"], "created") == set()
    in_between.commit()
    arrived = dads_phone.pull()["episodes"]
    assert ids(arrived, "created") == {"pushed-1"}
    assert [raw["notes"] for raw in arrived["created"]] == ["edited"]
    assert not any(dads_phone.pull()["episodes"].values())


def test_a_long_transaction_in_another_database_holds_nothing_back(app, database, family):
    mum, dad, child_id = family
    client = app.test_client()
    mums_phone, dads_phone = Phone(client, mum, "mum-phone"), Phone(client, dad, "dad-phone")
    dads_phone.pull()
    mums_phone.pull()
    elsewhere = OpenTransaction(make_url(database).set(database="postgres").render_as_string(hide_password=False))
    elsewhere.execute("CREATE TEMPORARY TABLE held (x int)")  # has a transaction id now, and keeps it
    try:
        assert mums_phone.push(changes(episodes={"created": [raw_episode("pushed-1", child_id)]})).status_code == 200
        assert ids(dads_phone.pull()["episodes"], "created") == {"pushed-1"}
    finally:
        elsewhere.commit()


def test_a_transaction_in_another_database_that_ends_as_a_pull_begins_holds_nothing_back(app, database, family):
    """The other database's transaction is running when the pull's snapshot is taken, and ends before the pull
    could read pg_stat_activity inside it: read there, it could not be placed and held the pull's answer below
    mum's push (seen in CI with another test worker's database busy). Read before the snapshot, it is placed."""
    mum, dad, child_id = family
    client = app.test_client()
    mums_phone, dads_phone = Phone(client, mum, "mum-phone"), Phone(client, dad, "dad-phone")
    dads_phone.pull()
    elsewhere = OpenTransaction(make_url(database).set(database="postgres").render_as_string(hide_password=False))
    elsewhere.execute("CREATE TEMPORARY TABLE held (x int)")  # has a transaction id now
    assert mums_phone.push(changes(episodes={"created": [raw_episode("pushed-1", child_id)]})).status_code == 200

    def end_elsewhere_once_the_snapshot_is_taken(conn, cursor, statement, *args):
        if "FROM tokens" in statement and not elsewhere.connection.closed:  # the pull's first statement
            elsewhere.commit()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", end_elsewhere_once_the_snapshot_is_taken)
    try:
        pulled = dads_phone.pull()
    finally:
        event.remove(engine, "after_cursor_execute", end_elsewhere_once_the_snapshot_is_taken)
    assert elsewhere.connection.closed
    assert ids(pulled["episodes"], "created") == {"pushed-1"}


def test_a_push_waits_for_a_concurrent_edit_of_its_record_and_answers_409_instead_of_overwriting_it(
        app, database, family):
    mum, dad, child_id = family
    client = app.test_client()
    mums_phone = Phone(client, mum, "mum-phone")
    assert mums_phone.push(changes(episodes={"created": [raw_episode("shared-1", child_id)]})).status_code == 200
    mums_phone.pull()
    dads_edit = OpenTransaction(database)  # dad's edit, through the REST API on another worker, not committed yet
    dads_edit.execute(f"UPDATE episodes SET notes = 'dad', updated_by_device = NULL, version = {OWN_VERSION} "
                      "WHERE id = 'shared-1'")
    replies = []
    push = threading.Thread(target=lambda: replies.append(mums_phone.push(changes(episodes={"updated": [
        raw_episode("shared-1", child_id, notes="mum", _status="updated")]}))))
    push.start()
    push.join(timeout=1.5)
    assert push.is_alive()  # waiting for dad's edit to end
    dads_edit.commit()
    push.join(timeout=30)
    assert replies[0].status_code == 409, replies[0].json
    assert client.get("/api/v1/episodes/shared-1", headers=mum.headers).json["notes"] == "dad"


def test_a_database_migrated_from_the_counter_keeps_every_timestamp_its_phones_hold(app, api, family):
    """The old server's counter may stand far above this cluster's transaction ids: versions go on above it."""
    mum, dad, child_id = family
    client = app.test_client()
    dads_phone = Phone(client, dad, "dad-phone")
    dads_phone.pull()
    api.client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(), headers=mum.headers)
    with app.app_context():
        downgrade(revision=COUNTER_REVISION)
        db.session.execute(text("UPDATE sync_counter SET version = version + 5000000"))  # a long-lived old server
        db.session.execute(text("UPDATE episodes SET notes = 'changed last on the old server', "
                                "version = (SELECT version FROM sync_counter)"))
        old_timestamp = db.session.scalar(text("SELECT version FROM sync_counter")) - 1
        db.session.commit()
        upgrade()
    new = client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(duration_seconds=12),
                      headers=mum.headers).json
    pulled = dads_phone.pull(last_pulled_at=old_timestamp)
    assert ids(pulled["episodes"], "created") == {new["id"]}
    assert [e["notes"] for e in pulled["episodes"]["updated"]] == ["changed last on the old server"]
    assert dads_phone.last_pulled_at > old_timestamp
    assert not any(dads_phone.pull()["episodes"].values())


def test_after_a_restore_into_another_cluster_rebase_clock_puts_versions_above_every_one_stored(app, api, family):
    """Another cluster's transaction ids may stand far lower: without the rebase a phone would never see what is
    written next (its version below the phone's timestamp)."""
    mum, dad, child_id = family
    client = app.test_client()
    dads_phone = Phone(client, dad, "dad-phone")
    dads_phone.pull()
    with app.app_context():  # what a restore into a younger cluster amounts to: the ids, and so the clock, lower
        db.session.execute(text("UPDATE sync_clock SET xid_offset = xid_offset - 10000000"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["sync", "rebase-clock"])
    assert result.exit_code == 0, result.output
    assert "versions now go on from" in result.output
    new = client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(), headers=mum.headers).json
    assert ids(dads_phone.pull()["episodes"], "created") == {new["id"]}
