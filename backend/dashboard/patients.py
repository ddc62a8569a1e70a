"""The patient list: one row per child of the user's care teams, from the kept summaries (no model refits)."""
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import selectinload

from backend.accounts.models import User
from backend.care_teams.access import visible_children
from backend.children.ages import ages_on
from backend.children.models import CONDITIONS, Child
from backend.db_types import utcnow
from backend.extensions import db
from backend.i18n import lazy_gettext, lazy_ngettext
from backend.trends.freshness import ensure_fresh

NOT_LOGGED_DAYS = 7
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


def patient_rows(user: User, filter_name: str = "all", condition: str | None = None) -> list[PatientRow]:
    """The user's patients, the most urgent red flag first, then other red flags, then worsening, then by name;
    filtered as asked."""
    query = visible_children(user.id).options(selectinload(Child.summary)).order_by(Child.name, Child.id)
    if condition in CONDITIONS:
        query = query.where(Child.condition == condition)
    ensure_fresh(db.session, list(db.session.scalars(query.with_only_columns(Child.id))))
    rows = [_row(child) for child in db.session.scalars(query).all()]
    rows = [row for row in rows if _keep(row, filter_name)]
    return sorted(rows, key=_urgency)


def _urgency(row: PatientRow) -> tuple:
    return (MOST_URGENT_FLAG not in row.red_flags, not row.red_flags, VERDICT_ORDER.get(row.verdict, 9),
            row.child.name)


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


def _keep(row: PatientRow, filter_name: str) -> bool:
    if filter_name == "red_flags":
        return bool(row.red_flags)
    if filter_name == "worsening":
        return row.verdict == "worsening"
    if filter_name == "not_logged":
        return row.not_logged
    return True
