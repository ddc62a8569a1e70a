"""The plain data the trend engine works on, and how it is read from the database."""
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from backend.children.models import Child
from backend.clinic.models import ClinicianNote
from backend.diary.models import DevelopmentCheck, Episode, SleepSession, Treatment
from backend.extensions import db


@dataclass(frozen=True)
class EegFact:
    """The latest EEG result a clinician recorded in a note."""

    note_id: str
    result: str  # normal | benign_variant | abnormal | not_done
    recorded_at: datetime


@dataclass(frozen=True)
class DevelopmentFact:
    """A caregiver's development check: new_skills and lost_skills are yes | no | unsure."""

    id: str
    checked_on: date  # the child's local date
    new_skills: str
    lost_skills: str


@dataclass(frozen=True)
class TreatmentFact:
    """What the child was given and when: kind is one of backend/diary/vocabulary.py TREATMENT_KINDS."""

    id: str
    name: str
    kind: str
    dose: str | None
    started_on: date  # the child's local date
    stopped_on: date | None  # None while ongoing


@dataclass(frozen=True)
class ChildFacts:
    id: str
    name: str
    birth_date: date
    gestational_weeks: float | None
    timezone: str
    condition: str
    eeg: EegFact | None = None
    development: tuple[DevelopmentFact, ...] = ()  # live checks, oldest first
    treatments: tuple[TreatmentFact, ...] = ()  # live treatments, earliest start first


@dataclass(frozen=True)
class EpisodeFact:
    id: str
    started_at: datetime  # aware UTC
    duration_seconds: int
    sleep_state: str
    stopped_when_woken: str
    signs: tuple[str, ...]


@dataclass(frozen=True)
class SleepFact:
    id: str
    started_at: datetime
    ended_at: datetime | None
    kind: str
    watched: bool


def child_facts(child: Child, with_eeg: bool = True,
                treatments: tuple[TreatmentFact, ...] | None = None) -> ChildFacts:
    """The child as the engine sees it; the EEG, the development checks and the treatments (queries) only where a
    whole report is to be built. `treatments`: already loaded with `treatment_facts` for many children."""
    if with_eeg and treatments is None:
        treatments = treatment_facts([child.id])[child.id]
    return ChildFacts(child.id, child.name, child.birth_date, child.gestational_weeks, child.timezone,
                      child.condition, latest_eeg(child.id) if with_eeg else None,
                      development_facts(child.id) if with_eeg else (), treatments if with_eeg else ())


def latest_eeg(child_id: str) -> EegFact | None:
    row = db.session.execute(
        select(ClinicianNote.id, ClinicianNote.eeg, ClinicianNote.updated_at)
        .where(ClinicianNote.child_id == child_id, ClinicianNote.eeg.is_not(None))
        .order_by(ClinicianNote.updated_at.desc(), ClinicianNote.id.desc()).limit(1)).first()
    return EegFact(*row) if row else None


def development_facts(child_id: str) -> tuple[DevelopmentFact, ...]:
    rows = db.session.execute(
        select(DevelopmentCheck.id, DevelopmentCheck.checked_on, DevelopmentCheck.new_skills,
               DevelopmentCheck.lost_skills)
        .where(DevelopmentCheck.child_id == child_id, DevelopmentCheck.deleted_at.is_(None))
        .order_by(DevelopmentCheck.checked_on, DevelopmentCheck.created_at, DevelopmentCheck.id))
    return tuple(DevelopmentFact(*row) for row in rows)


def treatment_facts(child_ids: list[str]) -> dict[str, tuple[TreatmentFact, ...]]:
    """Live treatments per child, earliest start first: one query for all the children."""
    rows = db.session.execute(
        select(Treatment.child_id, Treatment.id, Treatment.name, Treatment.kind, Treatment.dose, Treatment.started_on,
               Treatment.stopped_on)
        .where(Treatment.child_id.in_(child_ids), Treatment.deleted_at.is_(None))
        .order_by(Treatment.started_on, Treatment.created_at, Treatment.id))
    found: dict[str, list[TreatmentFact]] = {child_id: [] for child_id in child_ids}
    for child_id, *values in rows:
        found[child_id].append(TreatmentFact(*values))
    return {child_id: tuple(facts) for child_id, facts in found.items()}


def episode_facts(child_ids: list[str]) -> dict[str, list[EpisodeFact]]:
    """Live episodes per child, oldest first."""
    rows = db.session.execute(
        select(Episode.child_id, Episode.id, Episode.started_at, Episode.duration_seconds, Episode.sleep_state,
               Episode.stopped_when_woken, Episode.signs)
        .where(Episode.child_id.in_(child_ids), Episode.deleted_at.is_(None)).order_by(Episode.started_at))
    found: dict[str, list[EpisodeFact]] = {child_id: [] for child_id in child_ids}
    for child_id, *values in rows:
        *head, signs = values
        found[child_id].append(EpisodeFact(*head, () if signs in ("[]", "", None) else tuple(json.loads(signs))))
    return found


def sleep_facts(child_ids: list[str]) -> dict[str, list[SleepFact]]:
    rows = db.session.execute(
        select(SleepSession.child_id, SleepSession.id, SleepSession.started_at, SleepSession.ended_at,
               SleepSession.kind, SleepSession.watched)
        .where(SleepSession.child_id.in_(child_ids), SleepSession.deleted_at.is_(None))
        .order_by(SleepSession.started_at))
    found: dict[str, list[SleepFact]] = {child_id: [] for child_id in child_ids}
    for child_id, *values in rows:
        found[child_id].append(SleepFact(*values))
    return found
