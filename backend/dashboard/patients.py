"""The patient list: one row per child of the user's care teams, from the kept summaries (no model refits).

A page of PATIENTS_PER_PAGE rows, found (?q=, part of the name), filtered and ordered in SQL: the most urgent red
flag first, then other red flags, then by verdict, then by name (lower-cased: Ana, anabel, Bruno). The order is
computed from the summaries, so no index can serve it and every page sorts the clinician's filtered children once;
a page number (OFFSET) costs the same as a keyset would and lets the page say "page 3 of 50".
"""
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_
from sqlalchemy.orm import contains_eager

from backend.accounts.models import User
from backend.care_teams.access import visible_children
from backend.children.ages import ages_on
from backend.children.models import CONDITIONS, Child
from backend.db_types import utcnow
from backend.extensions import db
from backend.i18n import lazy_gettext, lazy_ngettext
from backend.trends.freshness import ensure_fresh
from backend.trends.models import ChildSummary

NOT_LOGGED_DAYS = 7
PATIENTS_PER_PAGE = 100
SEARCH_MAX_CHARS = 100
FILTERS = {
    "all": lazy_gettext("All patients"),
    "red_flags": lazy_gettext("With red flags"),
    "worsening": lazy_gettext("Worsening"),
    "not_logged": lazy_ngettext("Not logged for %(num)s day", "Not logged for %(num)s days", NOT_LOGGED_DAYS),
}
VERDICT_ORDER = {"worsening": 0, "stable": 1, "insufficient_data": 2, "resolving": 3, "resolved": 4}
MOST_URGENT_FLAG = "spasms_pattern"  # "please contact your doctor soon": above every other row


@dataclass
class PatientRow:
    child: Child
    age: dict
    verdict: str
    red_flags: list[str]
    rate_recent: float | None
    rate_previous: float | None
    last_logged_at: datetime | None

    @property
    def not_logged(self) -> bool:
        return self.last_logged_at is None or self.last_logged_at < utcnow() - timedelta(days=NOT_LOGGED_DAYS)

    @property
    def change(self) -> str | None:
        """'fewer', 'more' or 'same' episodes per watched night than the two weeks before."""
        if self.rate_recent is None or self.rate_previous is None:
            return None
        if abs(self.rate_recent - self.rate_previous) < 0.05:
            return "same"
        return "fewer" if self.rate_recent < self.rate_previous else "more"


@dataclass
class PatientList:
    rows: list[PatientRow]
    matching: int  # every child the search and filters keep
    page: int  # from 1
    pages: int


def patient_list(user: User, filter_name: str = "all", condition: str | None = None, search: str = "",
                 page: int = 1) -> PatientList:
    """A page of the user's patients the search and filters keep, the most urgent first (the module's order)."""
    query = visible_children(user.id)
    if condition in CONDITIONS:
        query = query.where(Child.condition == condition)
    if search:
        query = query.where(Child.name.icontains(search, autoescape=True))
    query = query.outerjoin(ChildSummary, ChildSummary.child_id == Child.id)
    if stale := list(db.session.scalars(query.with_only_columns(Child.id).where(  # the order reads the summaries
            or_(ChildSummary.child_id.is_(None), ChildSummary.stale.is_(True))))):
        ensure_fresh(db.session, stale)
    query = query.where(*_kept(filter_name))
    matching = db.session.scalar(query.with_only_columns(func.count(Child.id)))
    pages = max(1, math.ceil(matching / PATIENTS_PER_PAGE))
    page = min(max(page, 1), pages)
    children = db.session.scalars(query.options(contains_eager(Child.summary)).order_by(*_urgency()).offset(
        (page - 1) * PATIENTS_PER_PAGE).limit(PATIENTS_PER_PAGE))
    return PatientList([_row(child) for child in children], matching, page, pages)


def _urgency() -> tuple:
    verdict = func.coalesce(ChildSummary.verdict, "insufficient_data")
    return (case((ChildSummary.red_flag_codes.contains(f'"{MOST_URGENT_FLAG}"'), 0), else_=1),
            case((_has_red_flags(), 0), else_=1), case(VERDICT_ORDER, value=verdict, else_=9),
            func.lower(Child.name), Child.name, Child.id)


def _has_red_flags():
    return and_(ChildSummary.red_flag_codes.is_not(None), ChildSummary.red_flag_codes != "[]")


def _kept(filter_name: str) -> tuple:
    """The filter as SQL; a child without a summary yet reads as insufficient data, no flags, never logged."""
    if filter_name == "red_flags":
        return (_has_red_flags(),)
    if filter_name == "worsening":
        return (ChildSummary.verdict == "worsening",)
    if filter_name == "not_logged":
        return (or_(ChildSummary.last_logged_at.is_(None),
                    ChildSummary.last_logged_at < utcnow() - timedelta(days=NOT_LOGGED_DAYS)),)
    return ()


def _row(child: Child) -> PatientRow:
    summary = child.summary
    today = datetime.now(ZoneInfo(child.timezone)).date()
    return PatientRow(
        child=child, age=ages_on(child.birth_date, today, child.gestational_weeks),
        verdict=summary.verdict if summary else "insufficient_data",
        red_flags=json.loads(summary.red_flag_codes) if summary else [],
        rate_recent=summary.rate_recent if summary else None,
        rate_previous=summary.rate_previous if summary else None,
        last_logged_at=summary.last_logged_at if summary else None)
