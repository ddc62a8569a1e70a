"""The server change counter behind sync: every write transaction takes the next version.

One row holds the counter. A writing transaction increments it first thing, which (in
PostgreSQL) row-locks it until commit, so versions follow commit order, and a reader who sees
version C sees every row stamped <= C. Rows of synced tables carry:
  version          the version of the transaction that last changed them
  created_version  the version that created them
  created_by_device / updated_by_device   the phone (sync device_id) behind those writes
"""
from sqlalchemy import BigInteger, Integer, String, event, insert, inspect, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.extensions import db

FIRST_VERSION = 1  # WatermelonDB refuses a timestamp of 0
_VERSION_KEY = "myodiary.version"


class SyncCounter(db.Model):
    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


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


_COUNTER = select(SyncCounter.version).where(SyncCounter.id == 1)
NEXT_VERSION = update(SyncCounter).where(SyncCounter.id == 1).values(
    version=SyncCounter.version + 1).returning(SyncCounter.version)


def current_version(session: Session | None = None) -> int:
    """The last committed version as this transaction sees it."""
    session = session or db.session
    return as_version(session.scalar(_COUNTER))


def version_column():
    """The counter as a column of another query (as_version reads it): the same snapshot, no round trip."""
    return _COUNTER.scalar_subquery()


def as_version(value: int | None) -> int:
    return FIRST_VERSION if value is None else value


def claim_version(session: Session | None = None) -> int:
    """This transaction's version: the counter, incremented once per transaction."""
    session = session or db.session
    if _VERSION_KEY in session.info:
        return session.info[_VERSION_KEY]
    connection = session.connection()  # Core on the connection: no autoflush from a flush hook
    version = connection.scalar(NEXT_VERSION)
    if version is None:
        version = FIRST_VERSION + 1
        connection.execute(insert(SyncCounter).values(id=1, version=version))
    session.info[_VERSION_KEY] = version
    return version


def _forget_version(session: Session, *args) -> None:
    session.info.pop(_VERSION_KEY, None)


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
