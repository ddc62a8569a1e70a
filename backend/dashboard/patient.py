"""Everything the patient page shows, read for one child: report, chart data, breakdowns, a page of episodes and
their videos, development checks, treatments, notes, and where each red flag's evidence is on the page.

The episodes come a page at a time, newest first, by keyset (started_at, id): ?before=<cursor> is the page older
than the cursor's episode, ?after=<cursor> the page newer than it, so a late page costs what the first does. What
grows with the diary (the breakdowns, the counts line) is one SQL aggregate each, never Python over the rows."""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask_babel import gettext
from sqlalchemy import and_, case, false, func, or_, select

from backend.children.ages import prematurity_days
from backend.children.models import Child
from backend.clinic.models import AccessEvent, ClinicianNote
from backend.dashboard import records
from backend.diary.models import Episode
from backend.diary.vocabulary import SLEEP_STATES, STOPPED_WHEN_WOKEN
from backend.extensions import db
from backend.pagination import decode_cursor, encode_cursor
from backend.reminders import service as reminders
from backend.reminders.models import Reminder
from backend.trends import formatting
from backend.trends.engine import axis_age
from backend.trends.freshness import ensure_fresh
from backend.trends.loading import child_report, todays_report
from backend.trends.report import TrendReport, default_axis
from backend.videos.models import EpisodeVideo

EPISODES_PER_PAGE = 50


@dataclass
class EpisodeFilters:
    sleep_state: str | None = None
    stopped_when_woken: str | None = None
    day_from: date | None = None
    day_to: date | None = None

    @classmethod
    def from_args(cls, args) -> "EpisodeFilters":
        return cls(_choice(args.get("sleep_state"), SLEEP_STATES), _choice(args.get("stopped"), STOPPED_WHEN_WOKEN),
                   _day(args.get("from")), _day(args.get("to")))

    @property
    def active(self) -> bool:
        return any((self.sleep_state, self.stopped_when_woken, self.day_from, self.day_to))

    def query_args(self) -> dict[str, str]:
        """The filters as the page's URL carries them, for links that keep them."""
        args = {"sleep_state": self.sleep_state, "stopped": self.stopped_when_woken,
                "from": self.day_from and self.day_from.isoformat(), "to": self.day_to and self.day_to.isoformat()}
        return {name: value for name, value in args.items() if value}


@dataclass
class EpisodePosition:
    """Where the page of episodes is: the first page, or older (before) or newer (after) than a cursor's episode."""
    before: tuple[datetime, str] | None = None
    after: tuple[datetime, str] | None = None

    @classmethod
    def from_args(cls, args) -> "EpisodePosition":
        """A cursor the page did not make reads as the first page (a link is never an error worth a 422 here)."""
        return cls(before=_cursor(args.get("before")), after=None if args.get("before") else _cursor(args.get("after")))


@dataclass
class EpisodePage:
    episodes: list[Episode]  # newest first
    matching: int  # every episode the filters keep
    newer: int  # matching episodes newer than this page
    link_args: dict[str, str]  # the filters (and chart axis) every page link keeps

    @property
    def first_number(self) -> int:
        return self.newer + 1

    @property
    def last_number(self) -> int:
        return self.newer + len(self.episodes)

    @property
    def older_cursor(self) -> str | None:
        if self.last_number >= self.matching or not self.episodes:
            return None
        return encode_cursor(self.episodes[-1].started_at, self.episodes[-1].id)

    @property
    def newer_cursor(self) -> str | None:
        if not self.newer or not self.episodes:
            return None
        return encode_cursor(self.episodes[0].started_at, self.episodes[0].id)


@dataclass
class PatientPage:
    child: Child
    report: TrendReport
    chart: dict
    sleep_states: list[tuple[str, int]]
    stopped: list[tuple[str, int]]
    episodes: list[Episode]
    episode_page: EpisodePage
    videos: dict[str, list[EpisodeVideo]]  # by episode id, oldest first: the live videos of the episodes shown
    filters: EpisodeFilters
    notes: list[ClinicianNote]
    schedule: dict
    reminders: list[Reminder]
    checks: list[records.CheckRow] = field(default_factory=list)
    treatments: list[records.TreatmentRow] = field(default_factory=list)
    evidence: dict[str, records.FlagEvidence] = field(default_factory=dict)  # by flag code
    access_log: list[AccessEvent] = field(default_factory=list)


def patient_page(child: Child, now: datetime, axis: str | None, filters: EpisodeFilters,
                 show_access_log: bool, position: EpisodePosition | None = None) -> PatientPage:
    if not axis:
        ensure_fresh(db.session, [child.id])  # the report kept with the summary, as the list reads it
    report = child_report(child, now, axis=axis) if axis else todays_report(child, now)
    episode_page = _episode_page(child, filters, position or EpisodePosition(),
                                 filters.query_args() | ({"age": axis} if axis else {}))
    episodes = episode_page.episodes
    sleep_states, stopped = _breakdowns(child)
    checks, treatments, notes = records.development_checks(child), records.treatments(child, report), _notes(child)
    anchors = records.page_anchors(child, checks, episodes, notes)
    today = now.astimezone(ZoneInfo(child.timezone)).date()
    return PatientPage(
        child=child, report=report, chart=chart_data(report, records.treatment_bands(child, treatments, today)),
        sleep_states=sleep_states, stopped=stopped,
        episodes=episodes, episode_page=episode_page, videos=_videos(child, episodes), filters=filters, notes=notes,
        schedule=reminders.describe(reminders.schedule_of(child)), reminders=_reminders(child), checks=checks,
        treatments=treatments, evidence={flag.code: records.flag_evidence(flag, anchors) for flag in report.red_flags},
        access_log=_access_log(child) if show_access_log else [])


def chart_data(report: TrendReport, treatment_bands: list[dict]) -> dict:
    """What the interactive chart draws, with both age axes: corrected age is chronological minus a constant.
    Every age is chronological weeks; the page's script shifts them for the corrected axis."""
    shift = prematurity_days(report.child.gestational_weeks) / 7
    to_chronological = shift if report.axis == "corrected" else 0.0
    return {
        "axis": report.axis, "default_axis": default_axis(report.child), "shift_weeks": round(shift, 4),
        "has_corrected": report.child.gestational_weeks is not None,
        "weeks": [{"age": round(axis_age(week, "chronological"), 3), "rate": week.episodes_per_night,
                   "episodes": week.episodes, "nights": week.watched_nights, "start": week.start.isoformat()}
                  for week in report.weekly],
        "model": None if report.model is None else [
            {"age": round(point.age_weeks + to_chronological, 3), "rate": point.rate, "low": point.low,
             "high": point.high} for point in report.model.curve],
        "references": [{"label": str(point.label), "text": str(formatting.reference_mark(point)),
                        "age": round(point.age_weeks_on_axis + to_chronological, 3), "share": point.share_resolved}
                       for point in report.reference_points if point.applies],
        "treatments": treatment_bands,
        "words": chart_words(report),
    }


def chart_words(report: TrendReport) -> dict:
    """Every word the page's script writes on the chart, in the reader's language; {name} marks what it fills in."""
    return {
        "weekly": gettext("Episodes per watched night (week)"), "band": str(formatting.CONFIDENCE_BAND),
        "fitted": str(formatting.fitted_trend(report.model)) if report.model else gettext("Fitted trend"),
        "x_axis": {"chronological": gettext("Age in weeks (chronological)"),
                   "corrected": gettext("Age in weeks (corrected)")},
        "y_axis": gettext("Episodes per watched night"), "not_watched": gettext("not watched"),
        # Translators: a chart's tooltip: "Episodes per watched night (week): 1.50 at 12.3 weeks"
        "point": gettext("%(series)s: %(rate)s at %(age)s weeks", series="{series}", rate="{rate}", age="{age}"),
        "ongoing": gettext("%(name)s (ongoing)", name="{name}"),
    }


def _breakdowns(child: Child) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The live episodes by sleep state and by whether they stopped on waking, most first: one GROUP BY over both
    columns (a dozen groups at most), summed per column here."""
    by_state: dict[str, int] = {}
    by_stopped: dict[str, int] = {}
    for state, stopped, count in db.session.execute(
            select(Episode.sleep_state, Episode.stopped_when_woken, func.count()).where(
                Episode.child_id == child.id, Episode.deleted_at.is_(None)).group_by(
                Episode.sleep_state, Episode.stopped_when_woken)):
        by_state[state] = by_state.get(state, 0) + count
        by_stopped[stopped] = by_stopped.get(stopped, 0) + count
    return (sorted(by_state.items(), key=lambda row: -row[1]), sorted(by_stopped.items(), key=lambda row: -row[1]))


def _matching(child: Child, filters: EpisodeFilters):
    query = select(Episode).where(Episode.child_id == child.id, Episode.deleted_at.is_(None))
    zone = ZoneInfo(child.timezone)
    if filters.sleep_state:
        query = query.where(Episode.sleep_state == filters.sleep_state)
    if filters.stopped_when_woken:
        query = query.where(Episode.stopped_when_woken == filters.stopped_when_woken)
    if filters.day_from:
        query = query.where(Episode.started_at >= datetime.combine(filters.day_from, time(), zone))
    if filters.day_to:
        query = query.where(Episode.started_at < datetime.combine(filters.day_to + timedelta(days=1), time(), zone))
    return query


def _episode_page(child: Child, filters: EpisodeFilters, position: EpisodePosition,
                  link_args: dict[str, str]) -> EpisodePage:
    """A page of the episodes the filters keep, newest first, and where it stands among them (one COUNT)."""
    query = _matching(child, filters)
    newest_first = (Episode.started_at.desc(), Episode.id.desc())
    if position.after:
        oldest_first = query.where(_newer_than(*position.after)).order_by(Episode.started_at, Episode.id)
        episodes = list(reversed(db.session.scalars(oldest_first.limit(EPISODES_PER_PAGE)).all()))
    else:
        older = query.where(_older_than(*position.before)) if position.before else query
        episodes = list(db.session.scalars(older.order_by(*newest_first).limit(EPISODES_PER_PAGE)))
    if not episodes and (position.before or position.after):  # past either end: the newest page instead
        episodes = list(db.session.scalars(query.order_by(*newest_first).limit(EPISODES_PER_PAGE)))
    newer = _newer_than(episodes[0].started_at, episodes[0].id) if episodes else false()
    matching, newer_count = _counts(query, newer)
    return EpisodePage(episodes, matching, newer_count, link_args)


def _counts(query, newer) -> tuple[int, int]:
    """How many episodes the query keeps, and how many of them are newer than the page: one aggregate."""
    row = db.session.execute(query.with_only_columns(func.count(), func.count(case((newer, 1))))).one()
    return row[0], row[1]


def _older_than(started_at: datetime, episode_id: str):
    """Before (started_at, id) in the page's order; the first term bounds the (child_id, started_at) index scan."""
    return and_(Episode.started_at <= started_at,
                or_(Episode.started_at < started_at, Episode.id < episode_id))


def _newer_than(started_at: datetime, episode_id: str):
    return and_(Episode.started_at >= started_at,
                or_(Episode.started_at > started_at, Episode.id > episode_id))


def _videos(child: Child, episodes: list[Episode]) -> dict[str, list[EpisodeVideo]]:
    """The shown episodes' live videos, in one query (the ids are at most EPISODES_PER_PAGE)."""
    if not episodes:
        return {}
    by_episode: dict[str, list[EpisodeVideo]] = {}
    for video in db.session.scalars(select(EpisodeVideo).where(
            EpisodeVideo.child_id == child.id, EpisodeVideo.episode_id.in_([episode.id for episode in episodes]),
            EpisodeVideo.deleted_at.is_(None)).order_by(EpisodeVideo.created_at, EpisodeVideo.id)):
        by_episode.setdefault(video.episode_id, []).append(video)
    return by_episode


def _notes(child: Child) -> list[ClinicianNote]:
    return list(db.session.scalars(select(ClinicianNote).where(ClinicianNote.child_id == child.id).order_by(
        ClinicianNote.created_at.desc(), ClinicianNote.id)))


def _reminders(child: Child) -> list[Reminder]:
    return list(db.session.scalars(select(Reminder).where(Reminder.child_id == child.id).order_by(
        Reminder.created_at.desc(), Reminder.id).limit(20)))


def _access_log(child: Child) -> list[AccessEvent]:
    return list(db.session.scalars(select(AccessEvent).where(AccessEvent.child_id == child.id).order_by(
        AccessEvent.at.desc(), AccessEvent.id).limit(100)))


def _choice(value: str | None, allowed) -> str | None:
    return value if value in allowed else None


def _cursor(value: str | None) -> tuple[datetime, str] | None:
    try:
        key, episode_id = decode_cursor(value) if value else (None, None)
    except ma.ValidationError:
        return None
    return (key, episode_id) if isinstance(key, datetime) else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
