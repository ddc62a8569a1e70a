"""The scheduler's jobs, observed: each run has an id every record it logs carries, counts by outcome, its
duration, and (with tracing on) a span that the run's SQL statements nest under."""
import logging
import uuid
from functools import wraps
from time import perf_counter

from backend.observability import tracing
from backend.observability.events import count
from backend.observability.log_format import current_run

log = logging.getLogger("backend.jobs")


def observed_job(job: str):
    """Decorate a scheduler job function (module level, as APScheduler's job store names it)."""
    def decorate(function):
        @wraps(function)
        def run(*args, **kwargs):
            run_id, started, outcome = uuid.uuid4().hex[:12], perf_counter(), "ok"
            context = current_run.set((job, run_id))
            try:
                with tracing.span(f"job {job}", {"myodiary.job": job, "myodiary.run_id": run_id}):
                    return function(*args, **kwargs)
            except Exception:
                outcome = "error"
                log.exception("job %s run %s failed", job, run_id)
                raise
            finally:
                seconds = perf_counter() - started
                log.debug("job %s run %s: %s in %.3f s", job, run_id, outcome, seconds)
                _record(job, outcome, seconds)
                current_run.reset(context)
        return run
    return decorate


def _record(job: str, outcome: str, seconds: float) -> None:
    from backend.observability.metrics import JOB_DURATION

    count("scheduler_job_runs", job, outcome)
    JOB_DURATION.labels(job).observe(seconds)
