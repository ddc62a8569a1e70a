"""Per-child summaries, kept fresh on every write so a patient list never refits all models, and the default
trends report kept with each, once per language."""
from datetime import date, datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db

UNCHECKED = text("NOT events_checked")
STALE = text("stale")  # as the partial index says it, so that PostgreSQL uses the index


class ChildSummary(db.Model):
    __tablename__ = "child_summaries"
    # The summaries the reminder dispatcher has yet to compare with what the child's emails know: a pass reads
    # these few, not every summary (issue 23, the cost curve)
    # The stale summaries, for the scheduler's pass: every child has its row (backend.trends.freshness)
    __table_args__ = (Index("ix_child_summaries_unchecked", "child_id", postgresql_where=UNCHECKED,
                            sqlite_where=UNCHECKED),
                      Index("ix_child_summaries_stale", "child_id", postgresql_where=STALE, sqlite_where=STALE))

    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(32))
    red_flag_codes: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    rate_recent: Mapped[float | None]  # episodes per watched night, last 2 weeks
    rate_previous: Mapped[float | None]  # the 2 weeks before
    watched_nights_recent: Mapped[int] = mapped_column(Integer, default=0)
    episodes_total: Mapped[int] = mapped_column(Integer, default=0)
    last_logged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)  # the diary changed since computed_at
    # The day (the child's local date) of the default trends response kept in child_summary_reports:
    # valid until midnight there or the next write, whichever comes first.
    report_day: Mapped[date | None]
    # False from each rebuild until a dispatch pass has looked for a worsening verdict or new red flags in it
    events_checked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ChildSummaryReport(db.Model):
    """The summary's default trends response in one language (backend.i18n.locales()), as its readers get it."""

    __tablename__ = "child_summary_reports"

    child_id: Mapped[str] = mapped_column(ForeignKey("child_summaries.child_id", ondelete="CASCADE"),
                                          primary_key=True)
    locale: Mapped[str] = mapped_column(String(16), primary_key=True)
    report_json: Mapped[str] = mapped_column(Text)
