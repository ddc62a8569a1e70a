"""Reminders that do not wait for the cadence: follow-up prompts by age, worsening, new red flags; and which slot
emails ask for a development check."""
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_, select, update

from backend.children.ages import prematurity_days
from backend.children.models import Child
from backend.diary.models import DevelopmentCheck
from backend.extensions import db
from backend.reminders import recipients
from backend.reminders.models import Reminder, ReminderSchedule
from backend.reminders.outbox import pending_row, queue
from backend.reminders.schedules import period_key
from backend.trends.models import UNCHECKED, ChildSummary
from backend.trends.red_flags import STALL_DAYS

# BNSM follow-ups at 3 and 6 months of corrected age (CLINICAL.md: 64% / 95% resolved by then),
# each within its window only, and once.
FOLLOW_UPS = (("follow_up_3m", 13, 26), ("follow_up_6m", 26, 52))

# A development check every 4 weeks in the first year of corrected age (CLINICAL.md "Video, treatments and
# development"): the stall rule compares checks at least 4 weeks apart, and infantile spasms start before age 1 in
# 90% of children. A slot email asks when neither a check nor an asking email came within this many days.
DEVELOPMENT_PROMPT_DAYS = STALL_DAYS
DEVELOPMENT_PROMPTS_UNTIL_WEEKS = 52


def corrected_weeks(child: Child, instant: datetime) -> float:
    day = instant.astimezone(ZoneInfo(child.timezone)).date()
    return ((day - child.birth_date).days - prematurity_days(child.gestational_weeks)) / 7


def slot_kind(child: Child, schedule: ReminderSchedule, due: datetime) -> tuple[str, str]:
    """A slot's email is the follow-up prompt when the child has just reached 3 or 6 months."""
    if child.condition == "bnsm":
        age = corrected_weeks(child, due)
        for kind, start, end in FOLLOW_UPS:
            if start <= age < end and not _sent_before(child.id, kind):
                return kind, kind
    return "scheduled", period_key(due, schedule.timezone)


def development_prompts(schedules: list[ReminderSchedule], children: dict[str, Child]) -> set[str]:
    """The children whose email at their schedule's due slot asks for a development check: under a year of corrected
    age, and no check logged nor asked for in the last DEVELOPMENT_PROMPT_DAYS days (the child's local days)."""
    young = {s.child_id: _local_day(children[s.child_id], s.next_due_at) for s in schedules
             if s.next_due_at is not None and 0 <= corrected_weeks(children[s.child_id], s.next_due_at)
             < DEVELOPMENT_PROMPTS_UNTIL_WEEKS}
    if not young:
        return set()
    checked = _latest_checks(list(young))
    asked = {child_id: _local_day(children[child_id], at) for child_id, at in _latest_prompts(list(young)).items()}
    return {child_id for child_id, day in young.items()
            if all((day - last).days >= DEVELOPMENT_PROMPT_DAYS for last in (checked.get(child_id), asked.get(child_id))
                   if last is not None)}


def _local_day(child: Child, instant: datetime) -> date:
    return instant.astimezone(ZoneInfo(child.timezone)).date()


def _latest_checks(child_ids: list[str]) -> dict[str, date]:
    return dict(db.session.execute(select(DevelopmentCheck.child_id, func.max(DevelopmentCheck.checked_on)).where(
        DevelopmentCheck.child_id.in_(child_ids), DevelopmentCheck.deleted_at.is_(None)).group_by(
        DevelopmentCheck.child_id)).all())


def _latest_prompts(child_ids: list[str]) -> dict[str, datetime]:
    """The last slot that asked, counting emails on their way; not one that reached nobody (skipped or failed)."""
    return dict(db.session.execute(select(Reminder.child_id, func.max(Reminder.due_at)).where(
        Reminder.child_id.in_(child_ids), Reminder.development_prompt.is_(True),
        Reminder.status.not_in(("skipped", "failed"))).group_by(Reminder.child_id)).all())


def _sent_before(child_id: str, kind: str) -> bool:
    return db.session.scalar(select(exists().where(Reminder.child_id == child_id, Reminder.kind == kind)))


def plan_events(now: datetime, commit_every: int) -> int:
    """Prompts at this dispatch for children whose verdict turned worsening or who got a new red flag.

    Only the summaries rebuilt since a pass last looked (unchecked), and of those only the schedules whose emails
    know another verdict or other flags: the others would prompt nothing and remember nothing new. Reading every
    enabled schedule each pass (each minute) cost with the number of families, not with the events (issue 23).
    A chunk of summaries per transaction, taken with the prompts they cause: a pass that fails leaves them unchecked."""
    planned = 0
    while child_ids := _take_unchecked(commit_every):
        rows = db.session.execute(select(ReminderSchedule, ChildSummary).join(
            ChildSummary, ChildSummary.child_id == ReminderSchedule.child_id).where(
            ReminderSchedule.child_id.in_(child_ids), ReminderSchedule.enabled.is_(True),
            or_(ReminderSchedule.known_verdict.is_distinct_from(ChildSummary.verdict),
                ReminderSchedule.known_red_flags != ChildSummary.red_flag_codes))).all()
        for schedule, summary in rows:
            prompts = _new_events(schedule, summary)
            if prompts:
                planned += queue([pending_row(schedule.child_id, user.id, kind, key, now, now)
                                  for user in recipients.effective(schedule) for kind, key in prompts])
            remember(schedule, summary)
        db.session.commit()
    return planned


def _take_unchecked(limit: int) -> list[str]:
    """Mark up to `limit` unchecked summaries checked, in this transaction: their children's ids. Picked before the
    UPDATE and skipping rows another dispatcher holds (PostgreSQL), as the outbox's claim does."""
    summaries = ChildSummary.__table__
    picked = db.session.scalars(select(summaries.c.child_id).where(UNCHECKED).limit(limit).with_for_update(
        skip_locked=True)).all()  # the partial index's own words: "IS false" or "= 0" would not use it
    if not picked:
        return []
    db.session.execute(update(summaries).where(summaries.c.child_id.in_(picked)).values(
        events_checked=True, computed_at=summaries.c.computed_at))  # not onupdate's now: nothing was computed
    return list(picked)


def _new_events(schedule: ReminderSchedule, summary: ChildSummary) -> list[tuple[str, str]]:
    prompts = []
    if summary.verdict == "worsening" and schedule.known_verdict != "worsening":
        prompts.append(("worsening", f"worsening:{summary.computed_at.date().isoformat()}"))
    known = set(json.loads(schedule.known_red_flags or "[]"))
    new = sorted(code for code in json.loads(summary.red_flag_codes) if code not in known and code != "worsening")
    if new:  # one email for all the flags that are new at this dispatch, not one each
        prompts.append(("red_flag", "red_flag:" + ",".join(new)))
    return prompts


def remember(schedule: ReminderSchedule, summary: ChildSummary | None) -> None:
    """What the child's emails now know: no prompt again for the same verdict or flag. The flags are kept as the
    summary writes them, so that plan_events finds the schedules with news by comparing the two columns."""
    if summary is None:
        return
    if schedule.known_verdict != summary.verdict:
        schedule.known_verdict = summary.verdict
    if schedule.known_red_flags != summary.red_flag_codes:
        schedule.known_red_flags = summary.red_flag_codes
