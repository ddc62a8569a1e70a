"""Engine set-up per database, and read snapshots for the sync pull.

SQLite: pysqlite normally starts transactions only before writes, so two SELECTs of one pull
could see different data. Here SQLAlchemy's own BEGIN is emitted instead (the recipe in
SQLAlchemy's SQLite docs), deferred for reads and IMMEDIATE for write requests, so that a
writer holds the write lock from its first statement and never fails upgrading a read lock.
WAL lets readers go on while one writer writes. A write view that reads first and writes last
(`reads_first`, the diary's POST) ends its reads and takes the lock for its write alone.
"""
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from pathlib import Path

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite

from backend.extensions import db
from backend.private_files import create_private
from backend.versioning import begin_snapshot_on_postgresql

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_writing: ContextVar[bool] = ContextVar("myodiary_writing", default=False)
SQLITE_BUSY_TIMEOUT_MS = 10_000
_COMMITTED = "myodiary_committed_write"
_READING_FIRST = "myodiary_reading_first"


def configure_engine(engine, serves_requests: bool = True) -> None:
    """SQLite: WAL and the busy timeout on every connection; for the app's own engine (`serves_requests`) also
    the BEGIN above. The rate limits' engine keeps pysqlite's own: its reads must never wait for the write
    lock a request's transaction holds."""
    if engine.dialect.name != "sqlite":
        return
    if engine.url.database and engine.url.database != ":memory:":
        create_private(Path(engine.url.database))  # else sqlite3 creates it readable by all (umask 022)
    event.listen(engine, "connect", _sqlite_connect)
    if serves_requests:
        event.listen(engine, "begin", _sqlite_begin)


def _sqlite_connect(dbapi_connection, connection_record) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" hook below emits BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    if _begins_writing():
        _begin_immediate(connection)
    else:
        connection.exec_driver_sql("BEGIN")


def _begin_immediate(connection) -> None:
    """BEGIN IMMEDIATE, tried again at short intervals while another writer holds the lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10 ms and longer between tries, several times what a
    REST write holds the lock for, so a waiting worker sat idle after the lock was free. Only the
    BEGIN is retried: nothing has happened in the transaction yet. The last try, at the busy timeout,
    goes through SQLAlchemy, so that its error is SQLAlchemy's and is logged as usual."""
    raw = connection.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        for delay in _lock_retry_delays():
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "database is locked" not in str(error):
                    raise
            time.sleep(delay)
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _lock_retry_delays() -> Iterator[float]:
    """Pauses between tries for the write lock: 0.1 ms, doubling up to 2 ms, for the busy timeout in all."""
    deadline, delay = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000, 0.0001
    while time.monotonic() < deadline:
        yield delay
        delay = min(2 * delay, 0.002)


def holds_sqlite_write_lock() -> bool:
    """This thread's session is in a transaction begun for writing (BEGIN IMMEDIATE: the write lock is held)."""
    return has_app_context() and db.session().in_transaction() and _begins_writing()


def _begins_writing() -> bool:
    """Explicit writers, and a write request until its write is done (commit_keeping_loaded), except
    while a `reads_first` view is still reading."""
    if _writing.get():
        return True
    return (has_request_context() and request.method not in SAFE_METHODS and not g.get(_COMMITTED)
            and not g.get(_READING_FIRST))


def reads_first(view):
    """A write view that only reads (token, membership, checks) until it calls `start_writing()`.

    On SQLite its reads run in a deferred transaction, beside another worker's write, and the write
    lock is held for the write alone instead of the whole request. Views that read and write in turns
    keep the default: the write lock from their first statement.
    """
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.setdefault(_READING_FIRST, db.engine.dialect.name == "sqlite")
        return view(*args, **kwargs)
    return wrapper


def start_writing() -> None:
    """End a `reads_first` view's reads, keeping what they loaded; its writes follow in a transaction that
    takes SQLite's write lock at BEGIN. What was checked is not read again, as under PostgreSQL's READ
    COMMITTED: an id taken in between fails the INSERT (409). Elsewhere (and on PostgreSQL) a no-op."""
    if not (has_request_context() and g.get(_READING_FIRST)):
        return
    session = db.session()
    if session.in_transaction():
        with kept_after_commit(session):
            session.commit()  # reads only: nothing to flush
    g.pop(_READING_FIRST)


def commit_keeping_loaded() -> None:
    """A write view's last commit: it answers with the rows it has just written, as flushed,
    instead of reading them back in a second transaction (which on SQLite would take the write
    lock again)."""
    session = db.session()
    with kept_after_commit(session):
        session.commit()
    if has_request_context():
        g.setdefault(_COMMITTED, True)


@contextmanager
def kept_after_commit(session) -> Iterator[None]:
    """Rows loaded before a commit stay usable after it, without a reload (expire_on_commit off)."""
    before, session.expire_on_commit = session.expire_on_commit, False
    try:
        yield
    finally:
        session.expire_on_commit = before


@contextmanager
def writing_transactions() -> Iterator[None]:
    """For work outside a request that reads then writes (the reminder dispatch): SQLite takes the
    write lock at BEGIN, so two such workers wait for each other instead of failing."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


ID_CHUNK = 500  # ids per IN (...): stay under SQLite's bound-parameter limit


def id_chunks(ids: list) -> Iterator[list]:
    """Long id lists, a statement's worth at a time."""
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start:start + ID_CHUNK]


def dialect_insert(table):
    """An INSERT that knows the database's ON CONFLICT clauses (PostgreSQL's or SQLite's)."""
    return dialect_insert_for(db.engine, table)


def dialect_insert_for(engine, table):
    return dialect_insert_for_name(engine.dialect.name, table)


def dialect_insert_for_name(dialect: str, table):
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def upsert(session, model, rows: list[dict]) -> None:
    """Insert these rows or overwrite the ones already there, by primary key, in one statement.

    Not session.merge: its SELECT-then-INSERT fails when another worker inserts the same key in between
    (two dispatchers refreshing one summary); ON CONFLICT waits for that insert and updates instead.
    Instances of these rows already loaded in the session are expired, so they read the new values.
    """
    if not rows:
        return
    keys = [column.name for column in model.__table__.primary_key]
    statement = dialect_insert(model.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in rows[0] if name not in keys})
    session.execute(statement, rows)
    for row in rows:
        loaded = session.identity_map.get(session.identity_key(model, tuple(row[key] for key in keys)))
        if loaded is not None:
            session.expire(loaded)


def begin_snapshot() -> None:
    """Start the request's reads in one snapshot (ending any transaction begun so far)."""
    if db.session().in_transaction():
        db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        begin_snapshot_on_postgresql(db.session)
