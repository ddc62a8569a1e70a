"""The patient page's development checks and treatments, and where each red flag's evidence is on the page.

A flag's evidence is a list of ids (episodes; development checks then episodes; a note for an abnormal EEG).
Only what the page shows is linked: the page lists every live check and note but only the newest episodes
(or those the filters keep), so an episode outside them is counted as "not among the episodes shown".
"""
import json
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext
from sqlalchemy import select

from backend.children.ages import ages_on
from backend.children.models import Child
from backend.clinic.models import ClinicianNote
from backend.dashboard.labels import local_day, local_time
from backend.diary.models import DevelopmentCheck, Episode, Treatment
from backend.extensions import db
from backend.trends.red_flags import RedFlag
from backend.trends.report import TrendReport

EVIDENCE_LINKED = 10  # links per flag; the rest are counted
MEDICINES = ("antiseizure_medication", "other_medication")


@dataclass
class CheckRow:
    check: DevelopmentCheck
    age: dict  # ages_on: chronological, corrected, show_corrected
    concerns: list[str]

    @property
    def lost_skills(self) -> bool:
        return self.check.lost_skills == "yes"


@dataclass
class TreatmentRow:
    treatment: Treatment
    comparison: str | None  # the report's before/after sentence, for a medicine once the report has one

    @property
    def is_medicine(self) -> bool:
        return self.treatment.kind in MEDICINES


@dataclass
class Anchor:
    label: str
    target: str  # the element id on the page


@dataclass
class FlagEvidence:
    links: list[Anchor] = field(default_factory=list)
    more_on_page: int = 0  # on the page, past the first EVIDENCE_LINKED
    off_page: int = 0  # episodes the page does not show (older than those shown, or filtered out)


def development_checks(child: Child) -> list[CheckRow]:
    """The child's live checks, newest first, with the age on each check's day."""
    checks = db.session.scalars(select(DevelopmentCheck).where(
        DevelopmentCheck.child_id == child.id, DevelopmentCheck.deleted_at.is_(None)).order_by(
        DevelopmentCheck.checked_on.desc(), DevelopmentCheck.id))
    return [CheckRow(check, ages_on(child.birth_date, check.checked_on, child.gestational_weeks),
                     json.loads(check.concerns or "[]")) for check in checks]


def treatments(child: Child, report: TrendReport) -> list[TreatmentRow]:
    """The child's live treatments, newest start first, with the report's before/after sentence if it has one."""
    rows = db.session.scalars(select(Treatment).where(
        Treatment.child_id == child.id, Treatment.deleted_at.is_(None)).order_by(
        Treatment.started_on.desc(), Treatment.id))
    sentences = {period.id: period.comparison.summary for period in report.treatments if period.comparison}
    return [TreatmentRow(treatment, sentences.get(treatment.id)) for treatment in rows]


def treatment_bands(child: Child, rows: list[TreatmentRow], today: date) -> list[dict]:
    """Each treatment's period for the chart, in chronological weeks of age (the chart's own unit)."""
    def weeks(day: date) -> float:
        return round((day - child.birth_date).days / 7, 3)

    return [{"id": row.treatment.id, "name": row.treatment.name, "start": weeks(row.treatment.started_on),
             "end": weeks(row.treatment.stopped_on or today), "ongoing": row.treatment.stopped_on is None}
            for row in sorted(rows, key=lambda row: row.treatment.started_on)]


def page_anchors(child: Child, checks: list[CheckRow], episodes: list[Episode],
                 notes: list[ClinicianNote]) -> dict[str, Anchor]:
    """Every record the page shows, by id, with the element id a link can point to."""
    zone = child.timezone
    anchors = {note.id: Anchor(gettext("note of %(day)s", day=local_day(note.created_at, zone)), f"note-{note.id}")
               for note in notes}
    anchors.update((e.id, Anchor(gettext("episode of %(when)s", when=local_time(e.started_at, zone)),
                                 f"episode-{e.id}")) for e in episodes)
    anchors.update((row.check.id, Anchor(gettext("check of %(day)s", day=local_day(row.check.checked_on)),
                                         f"check-{row.check.id}")) for row in checks)
    return anchors


def flag_evidence(flag: RedFlag, anchors: dict[str, Anchor]) -> FlagEvidence:
    on_page = [anchors[item] for item in flag.evidence if item in anchors]
    return FlagEvidence(on_page[:EVIDENCE_LINKED], max(0, len(on_page) - EVIDENCE_LINKED),
                        len(flag.evidence) - len(on_page))
