"""The sync clock: every write transaction stamps its rows with a version, and a pull's timestamp is the
highest version it has seen whole.

The contract, on both databases: once a reader has been answered version T (`current_version`), every
transaction that stamps a version <= T has ended, so the reader's later statements see all of those rows,
and any row stamped later has a version > T. Rows of synced tables carry:
  version          the version of the transaction that last changed them
  created_version  the version that created them
  created_by_device / updated_by_device   the phone (sync device_id) behind those writes

Two clocks behind that one interface (issue 23):
- SQLite runs one writer at a time anyway: a counter in `sync_clock`'s one row, incremented once per
  write transaction, so a reader who sees version C sees every row stamped <= C and none above.
- PostgreSQL: a version is the writing transaction's own id (`pg_current_xact_id()`) plus a fixed offset
  (chosen by the migration so that versions only grow across it), so no row is written by every
  transaction. A reader's version is its snapshot's oldest transaction still running in this database,
  minus one: every transaction below it has ended. Unlike the counter, a reader may also see rows stamped
  above its version (transactions that started after the oldest running one and committed before the
  snapshot): the pull holds back creations among them for its next call (backend.sync.pull).
  Transactions running in other databases of the cluster are skipped when pg_stat_activity shows their
  database (it does for the app's own role); one it cannot place is counted as running here, which is safe
  but holds the answer back. So the activity must be read before the snapshot (`begin_snapshot` does, in a
  statement of its own): every transaction it does not show then started after it, above every version
  this reader needs. Read after the snapshot, which a REPEATABLE READ transaction takes at its first
  statement, it misses the other databases' transactions that ended in between, and a cluster busy
  elsewhere held a pull's answer below writes committed before it (one pull in twenty, measured).
"""
from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    String,
    and_,
    event,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.extensions import db

FIRST_VERSION = 1  # WatermelonDB refuses a timestamp of 0
_VERSION_KEY = "myodiary.version"


class SyncClock(db.Model):
    __tablename__ = "sync_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)  # SQLite: the counter; PostgreSQL: its value at the migration
    xid_offset: Mapped[int | None] = mapped_column(BigInteger)  # PostgreSQL: version = transaction id + this


class Stamped:
    """A row whose changes the sync must see; the ORM stamps it on flush."""

    def stamp(self, version: int, new: bool) -> None:
        raise NotImplementedError


class Versioned(Stamped):
    """Columns of every row that phones sync."""

    version: Mapped[int] = mapped_column(BigInteger)
    created_version: Mapped[int] = mapped_column(BigInteger)
    created_by_device: Mapped[str | None] = mapped_column(String(64))
    updated_by_device: Mapped[str | None] = mapped_column(String(64))

    def stamp(self, version: int, new: bool) -> None:
        self.version = version
        if new:
            self.created_version = version
        elif not inspect(self).attrs.updated_by_device.history.has_changes():
            self.updated_by_device = None  # a REST write is nobody's device


def changed_since(model, version: int):
    """Rows of `model` a reader who has seen `version` whole has not: written above it, or created above it and
    changed since by a transaction whose id came first (PostgreSQL gives an id at a transaction's first write,
    not at its commit), whose version is then below their creation's (see `created_late_index`)."""
    return or_(model.version > version, and_(model.created_version > model.version, model.created_version > version))


def created_late_index(table: str) -> Index:
    """The rows whose version is below their creation's (`changed_since`): few, so `changed_since` finds them in
    this small index instead of scanning the child's rows."""
    late = text("created_version > version")
    return Index(f"ix_{table}_created_late", "child_id", "created_version", postgresql_where=late, sqlite_where=late)


_THE_ROW = SyncClock.id == 1
_XID = literal_column("pg_current_xact_id()::text::bigint")

# SQLite: the counter
_COUNTER = select(SyncClock.version).where(_THE_ROW)
_NEXT_COUNT = update(SyncClock).where(_THE_ROW).values(version=SyncClock.version + 1).returning(SyncClock.version)

# PostgreSQL: this transaction's id; the oldest still running here (or the next to be given), minus one
_OWN_XID = select(_XID + SyncClock.xid_offset).where(_THE_ROW)
_OTHER_DATABASES = text("""
    SELECT coalesce(array_agg(backend_xid::text::bigint), '{}') FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()
""")
_OTHERS_KEY = "myodiary.other_databases"  # their transactions' ids, read before this transaction's snapshot
_SEEN_WHOLE = text("""
    SELECT least(pg_snapshot_xmax(snapshot)::text::bigint, (
               SELECT min(running::text::bigint) FROM pg_snapshot_xip(snapshot) AS running
               WHERE running::text::bigint % 4294967296 <> ALL (CAST(:others AS bigint[])))
           ) - 1 AS xid
    FROM pg_current_snapshot() AS snapshot
""").columns(xid=BigInteger)


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def current_version(session: Session | None = None) -> int:
    """The highest version this transaction's reader has seen whole (the contract above)."""
    session = session or db.session
    return as_version(session.scalar(select(version_column(session))))


def version_column(session: Session | None = None):
    """current_version as a column of another query (as_version reads it), to read it in that query's snapshot.
    PostgreSQL: with the other databases' transactions read before the snapshot (the module's docstring), else
    read now: right for a READ COMMITTED transaction, whose next statement takes a new snapshot."""
    session = session or db.session
    if not _on_postgresql(session):
        return _COUNTER.scalar_subquery()
    if _OTHERS_KEY not in session.info:
        session.info[_OTHERS_KEY] = session.scalar(_OTHER_DATABASES)
    seen_whole = _SEEN_WHOLE.bindparams(others=session.info[_OTHERS_KEY]).subquery("seen_whole")
    return (select(seen_whole.c.xid + SyncClock.xid_offset)
            .select_from(seen_whole.join(SyncClock, _THE_ROW)).scalar_subquery())


def begin_snapshot_on_postgresql(session: Session) -> None:
    """Begin a REPEATABLE READ transaction whose pulls answer the highest version it sees whole: the other
    databases' running transactions are read first, in a statement of their own (the module's docstring)."""
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    others = session.scalar(_OTHER_DATABASES)
    session.commit()
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    session.info[_OTHERS_KEY] = others


def as_version(value: int | None) -> int:
    return FIRST_VERSION if value is None else max(value, FIRST_VERSION)


def claim_version(session: Session | None = None, along=None) -> int:
    """This transaction's version, the same for all its writes. SQLite: the counter, incremented (the write
    lock is the database's anyway). PostgreSQL: the transaction's id, which locks nothing; `along`, a column
    expression (a lock to take first thing), is evaluated in the same statement: no round trip of its own."""
    session = session or db.session
    if _VERSION_KEY in session.info:
        return session.info[_VERSION_KEY]
    version = claim_version_on(session.connection(), along)  # Core on the connection: no autoflush from a hook
    session.info[_VERSION_KEY] = version
    return version


def claim_version_on(connection: Connection, along=None) -> int:
    """claim_version for Core code that holds a connection in a transaction: call it once per transaction."""
    if connection.dialect.name == "postgresql":
        return connection.scalar(_OWN_XID if along is None else _OWN_XID.add_columns(along))
    version = connection.scalar(_NEXT_COUNT)
    if version is None:
        version = FIRST_VERSION + 1
        connection.execute(insert(SyncClock).values(id=1, version=version))
    return version


def own_version_expression(dialect: str):
    """PostgreSQL: this transaction's version as an SQL expression, for a Core INSERT that stamps its rows in the
    statement itself (no statement of its own). SQLite: None (the counter must be claimed first)."""
    return _OWN_XID.scalar_subquery() if dialect == "postgresql" else None


def highest_stored_version(session: Session | None = None) -> int:
    """The highest version any synced row, membership or purge tombstone carries (a full scan: for operators)."""
    session = session or db.session
    versions = [column for table in db.metadata.sorted_tables for column in table.columns
                if column.name.endswith("version") and isinstance(column.type, BigInteger)]
    return max((session.scalar(select(func.max(column))) or 0 for column in versions), default=0)


def claim_version_above(floor: int, session: Session | None = None) -> int:
    """This transaction's version, made greater than `floor` (a version another server gave out: an import).
    PostgreSQL: the offset is raised under an exclusive lock on the clock, which waits for every transaction
    that read the old offset to end (they all read it to stamp or to pull), so none stamps a version below
    what a later pull answers."""
    session = session or db.session
    if _on_postgresql(session):
        session.execute(text("LOCK TABLE sync_clock IN ACCESS EXCLUSIVE MODE"))
        session.execute(update(SyncClock).where(_THE_ROW, _XID + SyncClock.xid_offset <= floor)
                        .values(xid_offset=floor + 1 - _XID))
        session.info.pop(_VERSION_KEY, None)
    elif current_version(session) < floor:
        _set_counter(session, floor)
    return claim_version(session)


def _set_counter(session: Session, value: int) -> None:
    if session.execute(update(SyncClock).where(_THE_ROW).values(version=value)).rowcount == 0:
        session.execute(insert(SyncClock).values(id=1, version=value))


def _forget_version(session: Session, *args) -> None:
    session.info.pop(_VERSION_KEY, None)
    session.info.pop(_OTHERS_KEY, None)


def _stamp_versions(session: Session, flush_context, instances) -> None:
    """Rows written through the ORM (REST, care teams) take this transaction's version."""
    new = [obj for obj in session.new if isinstance(obj, Stamped)]
    dirty = [obj for obj in session.dirty if isinstance(obj, Stamped) and session.is_modified(obj)]
    if not new and not dirty:
        return
    version = claim_version(session)
    for obj in new:
        obj.stamp(version, new=True)
    for obj in dirty:
        obj.stamp(version, new=False)


def install_listeners() -> None:
    for name, listener in (("before_flush", _stamp_versions), ("after_commit", _forget_version),
                           ("after_rollback", _forget_version),
                           ("after_soft_rollback", _forget_version)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
