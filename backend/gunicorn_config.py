"""gunicorn settings shared by `make run`, the Dockerfile and docker-compose:
`gunicorn -c python:backend.gunicorn_config --bind HOST:PORT 'backend:create_app()'`.

Access log on stdout, with secrets carried in URLs blanked (backend.logs); a worker timeout long enough
for a video upload's PATCH.

The app is built once in the master and the workers fork from it (issue 23): they share its pages copy-on-write
instead of each importing everything again. What must not cross a fork does not: the database engines' pools are
dropped in each worker (SQLAlchemy's rule for forked processes), and the scheduler never runs here (it is its own
process, `flask scheduler run`). The objects of start-up are frozen out of the garbage collector (`gc.freeze()`):
they live as long as the process, and a full collection no longer walks them (nor writes to their pages).

Metrics (issue 24): each worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR and whichever worker answers
/metrics adds them all up. The folder is set here, before the app (and prometheus_client) is imported: the one given
in the environment, emptied of a previous run's files, or a new temporary one, removed on exit. A dead worker's
gauge files go with it (child_exit). With LOG_FORMAT=json the app writes one line per request itself (with its
request id), so gunicorn's access log is off; in text, its line ends with the request id.
"""
import gc
import os
import shutil
import tempfile
from pathlib import Path


def _metrics_folder() -> tuple[str, bool]:
    """(the folder, whether it is ours to remove)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not given:
        folder = tempfile.mkdtemp(prefix="myodiary-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        return folder, True
    Path(given).mkdir(parents=True, exist_ok=True)
    for stale in Path(given).glob("*.db"):  # a previous run's counters would be added to this one's
        stale.unlink()
    return given, False


METRICS_FOLDER, _OWN_METRICS_FOLDER = _metrics_folder()
JSON_LOGS = os.environ.get("LOG_FORMAT", "text").lower() == "json"

accesslog = None if JSON_LOGS else "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
# A video PATCH (tus) of up to 300 MB takes longer than gunicorn's default 30 s on a slow link when no
# buffering proxy sits in front (make run); behind nginx (docker-compose) bodies arrive at once.
timeout = 300
logger_class = "backend.gunicorn_logging.RedactingGunicornLogger"
preload_app = True


def on_starting(server) -> None:
    """Several workers counting sign-in limits in memory count them apart (each its own counter): say so."""
    import os

    uri = os.environ.get("RATELIMIT_STORAGE_URI", "myodiary-db://")
    if uri.startswith("memory://") and server.cfg.workers > 1:
        server.log.warning("RATELIMIT_STORAGE_URI=memory:// with %d workers: every worker counts sign-in limits "
                           "on its own, so they allow %d times as many attempts; use myodiary-db:// (the default) "
                           "or redis://", server.cfg.workers, server.cfg.workers)


def pre_fork(server, worker) -> None:
    gc.freeze()


def post_fork(server, worker) -> None:
    """A worker opens its own database connections: the master's pools (if create_app opened any) are dropped
    without closing what the master holds."""
    from backend.extensions import db, limiter

    with server.app.wsgi().app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
    engine = getattr(limiter.storage, "engine", None)  # the sign-in limits' own (myodiary-db://)
    if engine is not None:
        engine.dispose(close=False)
    if server.app.wsgi().config["METRICS_ENABLED"]:
        from backend.observability.metrics import worker_started

        worker_started()


def child_exit(server, worker) -> None:
    """A dead worker's live gauges leave the sums (its counters stay: what it counted happened)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _OWN_METRICS_FOLDER:
        shutil.rmtree(METRICS_FOLDER, ignore_errors=True)


def post_worker_init(worker) -> None:
    gc.freeze()  # what the worker built for itself before its first request (all of it without preload_app)
