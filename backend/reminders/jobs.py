"""The scheduler process (`flask scheduler run`): APScheduler 3 with its SQLAlchemy job store.

It never runs inside web workers. Its main job dispatches reminders every minute; coalesce and
max_instances=1 turn a backlog after downtime into one run, and the dispatch itself is safe with
several scheduler processes at once (see dispatch.py). A second job purges, once a day, what was
deleted more than PURGE_AFTER_DAYS ago (backend.privacy.purge; idempotent too).
"""
import logging
from datetime import timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from backend.db_types import utcnow

log = logging.getLogger(__name__)
DISPATCH_JOB_ID = "reminders-dispatch"
DISPATCH_EVERY_SECONDS = 60
PURGE_JOB_ID = "privacy-purge"
PURGE_EVERY_HOURS = 24
JOBS_TABLE = "apscheduler_jobs"  # APScheduler's own table, outside the app's migrations
_app: Flask | None = None


def dispatch_job() -> None:
    """Module level, so that the job store can name it; it brings its own app context."""
    from backend.reminders.dispatch import dispatch

    with _application().app_context():
        result = dispatch()
        log.info("dispatch: %s", result)


def purge_job() -> None:
    """Once a day: remove what was deleted more than PURGE_AFTER_DAYS ago (backend.privacy.purge)."""
    from backend.privacy.purge import purge

    with _application().app_context():
        log.info("purge: %s", purge())


def _application() -> Flask:
    global _app
    if _app is None:
        from backend import create_app

        _app = create_app()
    return _app


def build_scheduler(app: Flask) -> BlockingScheduler:
    global _app
    _app = app
    store = SQLAlchemyJobStore(url=app.config["SQLALCHEMY_DATABASE_URI"], tablename=JOBS_TABLE)
    scheduler = BlockingScheduler(jobstores={"default": store}, timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 5 * DISPATCH_EVERY_SECONDS})
    scheduler.add_job("backend.reminders.jobs:dispatch_job", "interval", seconds=DISPATCH_EVERY_SECONDS,
                      id=DISPATCH_JOB_ID, replace_existing=True, next_run_time=utcnow())
    scheduler.add_job("backend.reminders.jobs:purge_job", "interval", hours=PURGE_EVERY_HOURS, id=PURGE_JOB_ID,
                      replace_existing=True, next_run_time=utcnow() + timedelta(minutes=1))
    return scheduler


def run(scheduler: BlockingScheduler) -> None:
    """Run until shut down, then close the job store's connections (one might still be out then)."""
    try:
        scheduler.start()
    finally:
        scheduler._lookup_jobstore("default").engine.dispose()  # APScheduler 3 has no public accessor
