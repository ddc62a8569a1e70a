"""Rate-limit counters in the application's own database, shared by every worker and replica.

Flask-Limiter's `memory://` keeps one counter per process: with 2 gunicorn workers, 12 wrong passwords
met two separate counters (8 x 401, 4 x 429). A `limits` storage over the database the app already
has (SQLite for `make run`, PostgreSQL past one machine) needs nothing more to run; Redis stays an
option (`RATELIMIT_STORAGE_URI=redis://...`). Fixed windows: one row per key, its count and when it
expires; an increment is one upsert in its own short transaction, outside the request's.
"""
from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime
from backend.extensions import db


class RateLimitCounter(db.Model):
    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
