"""Rate-limit counters in the application's own database, shared by every worker and replica.

Flask-Limiter's `memory://` keeps one counter per process: with 2 gunicorn workers, 12 wrong passwords
met two separate counters (8 x 401, 4 x 429). A `limits` storage over the database the app already
has (SQLite for `make run`, PostgreSQL past one machine) needs nothing more to run; Redis stays an
option (`RATELIMIT_STORAGE_URI=redis://...`). Fixed windows: one row per key, its count and when it
expires; an increment is one upsert in its own short transaction, outside the request's.
"""
from contextlib import nullcontext
from datetime import datetime, timedelta

from limits.storage import Storage
from sqlalchemy import Integer, String, case, create_engine, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import configure_engine, dialect_insert_for, holds_sqlite_write_lock
from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db


class RateLimitCounter(db.Model):
    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DatabaseStorage(Storage):
    """`RATELIMIT_STORAGE_URI=myodiary-db://`: counters in the app's database (RATELIMIT_STORAGE_OPTIONS
    carries its URL; create_app sets it). Its own small engine: a counter commits at once, whatever the
    request's transaction does."""

    STORAGE_SCHEME = ["myodiary-db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, database_url: str = "", **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.engine = create_engine(database_url, pool_pre_ping=True, pool_size=2, max_overflow=4) \
            if not database_url.startswith("sqlite") else create_engine(database_url)
        configure_engine(self.engine, serves_requests=False)
        self.table = RateLimitCounter.__table__

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount`; a counter whose window has passed starts again at `amount`, expiring `expiry` s later."""
        now = utcnow()
        values = {"key": key, "count": amount, "expires_at": now + timedelta(seconds=expiry)}
        insert = dialect_insert_for(self.engine, self.table).values(**values)
        expired = self.table.c.expires_at <= now
        statement = insert.on_conflict_do_update(index_elements=["key"], set_={
            "count": case((expired, amount), else_=self.table.c.count + amount),
            "expires_at": case((expired, insert.excluded.expires_at), else_=self.table.c.expires_at),
        }).returning(self.table.c.count)
        with self._writing() as connection:
            return connection.execute(statement).scalar_one()

    def get(self, key: str) -> int:
        row = self._row(key)
        return row.count if row is not None else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return (row.expires_at if row is not None else utcnow()).timestamp()

    def check(self) -> bool:
        with self.engine.connect() as connection:
            connection.execute(select(1))
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as connection:
            return connection.execute(delete(self.table)).rowcount

    def clear(self, key: str) -> None:
        with self._writing() as connection:
            connection.execute(delete(self.table).where(self.table.c.key == key))

    def _writing(self):
        """Its own short transaction; but on SQLite, inside a write request whose transaction already holds the
        write lock (a view counting, as the password reset does), that transaction: a second connection would
        wait on the lock until the busy timeout. The count then commits with the request."""
        if self.engine.dialect.name == "sqlite" and holds_sqlite_write_lock():
            return nullcontext(db.session.connection())
        return self.engine.begin()

    def _row(self, key: str):
        with self.engine.connect() as connection:
            return connection.execute(select(self.table.c.count, self.table.c.expires_at).where(
                self.table.c.key == key, self.table.c.expires_at > utcnow())).one_or_none()


def end_failed_transactions(app) -> None:
    """A failed request's transaction ends before the limiter counts the failure (its after_request runs later:
    this one is registered after it). On SQLite that transaction holds the write lock from its first statement,
    and the counter's own connection would wait on it until the busy timeout."""
    @app.after_request
    def _end(response):
        if response.status_code >= 400:
            db.session.rollback()
        return response
