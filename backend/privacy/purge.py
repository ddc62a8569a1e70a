"""The purge: deleted children and accounts are removed for real after PURGE_AFTER_DAYS.

A deleted child stays a tombstone for the retention period, so every member's phone receives it in
`deleted` at its next sync. Then its rows go: episodes, sleep sessions, treatments, development checks,
notes, summary, reminder outbox rows, schedule and opt-outs, invites, memberships, the child. The
clinician access log is kept (access_events has no foreign key to children for this reason). For phones
that slept through the whole period, the purge keeps ids only (backend.privacy.models), and the pull still lists them in
`deleted` (backend.privacy.tombstones), so no phone keeps, or pushes back, a child the server has forgotten.

A deleted account loses its tokens, memberships, opt-outs, reminders and invites. Its (already
scrubbed) user row goes too, unless records that outlive it name it: entries it logged or notes it
wrote in children that stay, access-log rows. Then the nameless row stays, so that they still
say "a deleted account" instead of pointing nowhere.

Episode videos go with their child, files first: the purge removes every file of the children's videos
from the storage (backend.videos.lifecycle.remove_files_of_children) before their rows go, so no file
outlives its record. A child one of whose videos a worker is processing right now (its claim running)
waits for the next purge, so that no file is written after its record is gone. The daily purge also
removes the files of deleted videos that the sweep after their deletion left (a crash in between).
Videos that the deleted account uploaded for children that stay are kept like the entries it logged:
its nameless user row stays with them.

Each chunk is one transaction, and a purge run again does nothing more: the job is idempotent.
"""
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, exists, insert, or_, select, update

from backend.accounts.models import AccountEmail, PasswordReset, Token, User
from backend.care_teams.models import Invite, Membership
from backend.children.models import Child
from backend.clinic.models import AccessEvent, ClinicianNote
from backend.database import writing_transactions
from backend.db_types import utcnow
from backend.diary.models import DevelopmentCheck, Episode, SleepSession, Treatment
from backend.extensions import db
from backend.privacy.models import PurgedChild, PurgedEntry
from backend.ratelimit_storage import RateLimitCounter
from backend.reminders.models import Reminder, ReminderOptOut, ReminderSchedule
from backend.trends.models import ChildSummary, ChildSummaryReport
from backend.videos import lifecycle as video_lifecycle
from backend.videos.models import PROCESSING, EpisodeVideo, UploadChunk

CHUNK = 50
DIARY = {"episodes": Episode, "sleep_sessions": SleepSession, "treatments": Treatment,  # phones' tables
         "development_checks": DevelopmentCheck, "episode_videos": EpisodeVideo}
CHILD_ROWS = (EpisodeVideo, Episode, SleepSession, Treatment, DevelopmentCheck, ClinicianNote,
              ChildSummaryReport, ChildSummary, Reminder, ReminderSchedule,
              ReminderOptOut, Invite, Membership)  # a video before its episode
NO_SYNC = {"synchronize_session": False}


@dataclass
class PurgeResult:
    children: int = 0
    accounts: int = 0
    kept_accounts: int = 0  # scrubbed rows other records still name
    swept_videos: int = 0  # deleted videos whose files were still there
    spent: int = 0  # sent account emails, ended tokens, past reset links and limit counters


def purge_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=current_app.config["PURGE_AFTER_DAYS"])


def purge(now: datetime | None = None) -> PurgeResult:
    """Remove what was deleted before the retention period; commits a chunk at a time."""
    with writing_transactions():  # SQLite: take the write lock at BEGIN, as the reminder dispatch does
        result = _purge(purge_cutoff(now or utcnow()))
        result.swept_videos = _sweep_deleted_videos()
        result.spent = _remove_spent(purge_cutoff(now or utcnow()), now or utcnow())
        db.session.commit()
        return result


def _purge(cutoff: datetime) -> PurgeResult:
    result = PurgeResult()
    due_children = select(Child.id).where(Child.deleted_at <= cutoff, ~_video_in_processing()).limit(CHUNK)
    while ids := db.session.scalars(due_children).all():
        purge_children(list(ids))
        db.session.commit()
        result.children += len(ids)
    due_users = select(User.id).where(User.deleted_at <= cutoff).order_by(User.id)
    for user_id in db.session.scalars(due_users).all():
        if purge_account(user_id):
            result.accounts += 1
        else:
            result.kept_accounts += 1
        db.session.commit()
    return result


def _remove_spent(cutoff: datetime, now: datetime) -> int:
    """Account-security rows past any use: emails sent or given up on, tokens ended, reset links expired (all
    before the retention period, so a support question about them can still be answered), and limit counters
    whose window has passed."""
    statements = (
        delete(AccountEmail).where(AccountEmail.status.in_(("sent", "failed")), AccountEmail.created_at <= cutoff),
        delete(Token).where(or_(Token.expires_at <= cutoff, Token.revoked_at <= cutoff)),
        delete(PasswordReset).where(PasswordReset.expires_at <= cutoff),
        delete(RateLimitCounter).where(RateLimitCounter.expires_at <= now))
    return sum(db.session.execute(statement, execution_options=NO_SYNC).rowcount for statement in statements)


def _video_in_processing():
    """A video of the child that a worker has claimed and may be storing files of (by the real clock, not a
    pretended `now`: the claim is a real worker's)."""
    return exists().where(EpisodeVideo.child_id == Child.id, EpisodeVideo.status == PROCESSING,
                          EpisodeVideo.claimed_until > utcnow())


def _sweep_deleted_videos() -> int:
    swept = total = video_lifecycle.sweep()
    while swept:
        swept = video_lifecycle.sweep()
        total += swept
    return total


def purge_children(child_ids: list[str]) -> None:
    _keep_tombstones(child_ids)
    video_lifecycle.remove_files_of_children(child_ids)  # before the rows naming the files go
    db.session.execute(delete(UploadChunk).where(UploadChunk.video_id.in_(
        select(EpisodeVideo.id).where(EpisodeVideo.child_id.in_(child_ids)))), execution_options=NO_SYNC)
    for model in CHILD_ROWS:
        db.session.execute(delete(model).where(model.child_id.in_(child_ids)), execution_options=NO_SYNC)
    db.session.execute(delete(Child).where(Child.id.in_(child_ids)), execution_options=NO_SYNC)


def _keep_tombstones(child_ids: list[str]) -> None:
    """Ids for phones that still hold the children: who held them until which version, and the diary ids with
    the version and the phone that made them (what tells the pull which phones may hold them)."""
    rows = db.session.execute(select(Membership.child_id, Membership.user_id, Membership.revoked_at,
                                     Membership.revoked_version, Child.version)
                              .join(Child, Child.id == Membership.child_id).join(User, User.id == Membership.user_id)
                              .where(Membership.child_id.in_(child_ids), User.deleted_at.is_(None))).all()
    # A member added again keeps the version of its old removal: it lost the child with the deletion.
    claims = [{"child_id": child_id, "user_id": user_id, "purged_at": utcnow(),
               "lost_version": min(revoked, deleted) if revoked_at is not None else deleted}
              for child_id, user_id, revoked_at, revoked, deleted in rows]
    if claims:
        db.session.execute(insert(PurgedChild), claims)
    for table, model in DIARY.items():
        entries = [{"table_name": table, **row._asdict()} for row in db.session.execute(select(
            model.id, model.child_id, model.created_version, model.created_by_device).where(
            model.child_id.in_(child_ids)))]
        if entries:
            db.session.execute(insert(PurgedEntry), entries)


def purge_account(user_id: str) -> bool:
    """Remove a deleted account's rows; the user row too unless other records name it. True if it went."""
    for model, column in ((Token, Token.user_id), (Membership, Membership.user_id),
                          (ReminderOptOut, ReminderOptOut.user_id), (Reminder, Reminder.user_id),
                          (Invite, Invite.created_by_id), (PurgedChild, PurgedChild.user_id)):
        db.session.execute(delete(model).where(column == user_id), execution_options=NO_SYNC)
    db.session.execute(update(Invite).where(Invite.accepted_by_id == user_id).values(accepted_by_id=None),
                       execution_options=NO_SYNC)
    _forget_as_recipient(user_id)
    if _still_named(user_id):
        return False
    db.session.execute(delete(User).where(User.id == user_id), execution_options=NO_SYNC)
    return True


def _forget_as_recipient(user_id: str) -> None:
    """Drop the account from schedules that name it among their recipients (JSON lists)."""
    for schedule in db.session.scalars(select(ReminderSchedule).where(ReminderSchedule.recipients.contains(user_id))):
        recipients = json.loads(schedule.recipients)
        if user_id in recipients:
            schedule.recipients = json.dumps([uid for uid in recipients if uid != user_id])


def _still_named(user_id: str) -> bool:
    return bool(db.session.scalar(select(or_(*(exists().where(column == user_id) for column in (
        Child.owner_id, Episode.logged_by, SleepSession.logged_by, Treatment.logged_by, DevelopmentCheck.logged_by,
        EpisodeVideo.uploaded_by, ClinicianNote.author_id,
        AccessEvent.user_id))))))
