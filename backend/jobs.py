"""The scheduler process (`flask scheduler run`): APScheduler 3 with its SQLAlchemy job store, and the jobs it runs.

It never runs inside web workers. Each job runs a feature's function, idempotent in the database, in an app context
of the app `build_scheduler` was given (the job store keeps a reference to the job function, never an app). With
coalesce and max_instances=1 a backlog after downtime is one run, and several scheduler processes at once are safe
(see backend/reminders/dispatch.py).
"""
import logging
from datetime import timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from backend.accounts.emails import send_account_emails
from backend.db_types import utcnow
from backend.observability.jobs import observed_job
from backend.observability.metrics import serve_scheduler_metrics
from backend.privacy.purge import purge
from backend.reminders.dispatch import dispatch
from backend.videos.lifecycle import run_pass as process_videos

log = logging.getLogger(__name__)
DISPATCH_JOB_ID = "reminders-dispatch"
DISPATCH_EVERY_SECONDS = 60
PURGE_JOB_ID = "privacy-purge"
PURGE_EVERY_HOURS = 24
ACCOUNT_EMAILS_JOB_ID = "account-emails-send"
VIDEOS_JOB_ID = "videos-process"
VIDEOS_EVERY_SECONDS = 15  # a parent's clip is playable within seconds of its last byte
JOBS_TABLE = "apscheduler_jobs"  # APScheduler's own table, outside the app's migrations
_app: Flask | None = None


@observed_job(DISPATCH_JOB_ID)  # a run id on its log records, counts, a span (issue 24)
def dispatch_job() -> None:
    """Every minute: plan what is due, send it, mark it (backend.reminders.dispatch)."""
    with _application().app_context():
        log.info("dispatch: %s", dispatch())


@observed_job(ACCOUNT_EMAILS_JOB_ID)
def account_emails_job() -> None:
    """Every ACCOUNT_EMAIL_INTERVAL_SECONDS: send the queued account emails (backend.accounts.emails)."""
    with _application().app_context():
        result = send_account_emails()
        if result.sent or result.retrying or result.failed:
            log.info("account emails: %s", result)


@observed_job(VIDEOS_JOB_ID)
def videos_job() -> None:
    """Every 15 s: process uploads, expire stale ones, remove deleted videos' files (backend.videos.lifecycle)."""
    with _application().app_context():
        result = process_videos()
        if result.ready or result.rejected or result.expired or result.swept:
            log.info("videos: %s", result)


@observed_job(PURGE_JOB_ID)
def purge_job() -> None:
    """Once a day: remove what was deleted more than PURGE_AFTER_DAYS ago (backend.privacy.purge)."""
    with _application().app_context():
        log.info("purge: %s", purge())


def _application() -> Flask:
    if _app is None:
        raise RuntimeError("The scheduler's jobs run in the app given to build_scheduler; none was given.")
    return _app


def build_scheduler(app: Flask) -> BlockingScheduler:
    global _app
    _app = app
    store = SQLAlchemyJobStore(url=app.config["SQLALCHEMY_DATABASE_URI"], tablename=JOBS_TABLE)
    scheduler = BlockingScheduler(jobstores={"default": store}, timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 5 * DISPATCH_EVERY_SECONDS})
    scheduler.add_job("backend.jobs:dispatch_job", "interval", seconds=DISPATCH_EVERY_SECONDS,
                      id=DISPATCH_JOB_ID, replace_existing=True, next_run_time=utcnow())
    scheduler.add_job("backend.jobs:account_emails_job", "interval",
                      seconds=app.config["ACCOUNT_EMAIL_INTERVAL_SECONDS"], id=ACCOUNT_EMAILS_JOB_ID,
                      replace_existing=True, next_run_time=utcnow())
    scheduler.add_job("backend.jobs:videos_job", "interval", seconds=VIDEOS_EVERY_SECONDS, id=VIDEOS_JOB_ID,
                      replace_existing=True, next_run_time=utcnow())
    scheduler.add_job("backend.jobs:purge_job", "interval", hours=PURGE_EVERY_HOURS, id=PURGE_JOB_ID,
                      replace_existing=True, next_run_time=utcnow() + timedelta(minutes=1))
    return scheduler


def run(scheduler: BlockingScheduler) -> None:
    """Run until shut down, then close the job store's connections (one might still be out then)."""
    serve_scheduler_metrics(_application())  # on SCHEDULER_METRICS_PORT, when set
    try:
        scheduler.start()
    finally:
        scheduler._lookup_jobstore("default").engine.dispose()  # APScheduler 3 has no public accessor
