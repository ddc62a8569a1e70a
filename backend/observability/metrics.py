"""/metrics in the Prometheus text format: what happened (counters) and what the database holds (gauges).

Counters of events (requests, sync pushes, reminders sent, videos processed) are incremented where they happen, in
the process where they happen. Under gunicorn each worker writes its own into files under PROMETHEUS_MULTIPROC_DIR
(backend/gunicorn_config.py sets one up), and whichever worker answers a scrape adds them all up; a dead worker's
gauge files are dropped by gunicorn's child_exit hook. The scheduler, a process of its own, serves its counters on
SCHEDULER_METRICS_PORT.

Gauges that describe the database (queues, ages, stale summaries, the scheduler's heartbeat) are read from it at
scrape time by `DatabaseCollector`, a few COUNT/MIN queries in two round trips, so every worker and every replica
reports the same, right, figures whatever the number of processes.

Who may read it: loopback callers that did not come through a proxy and, when METRICS_TOKEN is set, anyone
presenting it as a bearer token; everyone else gets 403 in the API's error shape. It is not part of the API's spec.
"""
import hmac
import ipaddress
import json
import logging
import os
import threading
from datetime import datetime
from wsgiref.simple_server import WSGIRequestHandler, make_server

from flask import Blueprint, Flask, Response, current_app, request
from flask_smorest import abort
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer, choose_encoder, make_wsgi_app
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import Forbidden

from backend.accounts.models import AccountEmail
from backend.children.models import Child
from backend.db_types import utcnow
from backend.errors import error_payload
from backend.extensions import db
from backend.reminders.models import Reminder, SchedulerHeartbeat
from backend.trends.models import STALE, ChildSummary
from backend.videos.models import PROCESSING, READY, STATUSES, EpisodeVideo, UploadChunk

log = logging.getLogger(__name__)
disable_created_metrics()  # no `_created` series beside every counter (multiprocess mode has none either)
EVENTS = CollectorRegistry(auto_describe=True)  # this app's counters, apart from the library's global registry
FORWARDED = ("X-Forwarded-For", "Forwarded", "X-Real-IP")  # a request a proxy passed on is not a local one
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
WAITING = ("pending", "sending")  # an outbox row not yet sent nor given up
REFUSED = "Metrics are served to loopback callers and to holders of METRICS_TOKEN."

HTTP_REQUESTS = Counter("myodiary_http_requests", "HTTP requests by method, route template and status",
                        ["method", "route", "status"], registry=EVENTS)
HTTP_LATENCY = Histogram("myodiary_http_request_duration_seconds", "Time to answer, by method and route template",
                         ["method", "route"], buckets=LATENCY_BUCKETS, registry=EVENTS)
WEB_WORKERS = Gauge("myodiary_web_workers", "gunicorn workers alive (each counts itself once forked)",
                    registry=EVENTS, multiprocess_mode="livesum")
COUNTERS = {counter._name.removeprefix("myodiary_"): counter for counter in (
    Counter("myodiary_sync_pulls", "Sync pulls by status", ["status"], registry=EVENTS),
    Counter("myodiary_sync_pushes", "Sync pushes by status", ["status"], registry=EVENTS),
    Counter("myodiary_sync_records_pushed", "Records stored by sync pushes, by table and kind of change",
            ["table", "change"], registry=EVENTS),
    Counter("myodiary_sync_conflicts", "Sync pushes refused with 409: the server changed since the last pull",
            registry=EVENTS),
    Counter("myodiary_sync_rejections", "Sync pushes refused with 422: a record is not valid", registry=EVENTS),
    Counter("myodiary_reminders", "Reminder emails by outcome: queued, sent, retrying (an attempt failed, another "
            "follows), failed (given up), skipped", ["outcome"], registry=EVENTS),
    Counter("myodiary_account_emails", "Account emails by outcome: sent, retrying, failed", ["outcome"],
            registry=EVENTS),
    Counter("myodiary_videos_processed", "Videos by the outcome of processing: ready, rejected, expired (uploads "
            "never finished)", ["outcome"], registry=EVENTS),
    Counter("myodiary_scheduler_job_runs", "The scheduler's job runs by job and outcome (ok, error)",
            ["job", "outcome"], registry=EVENTS),
)}
JOB_DURATION = Histogram("myodiary_scheduler_job_duration_seconds", "How long a scheduler job's run took", ["job"],
                         buckets=LATENCY_BUCKETS, registry=EVENTS)
SYNC_ENDPOINTS = {"sync.pull": "sync_pulls", "sync.push": "sync_pushes"}
SYNC_REFUSALS = {409: "sync_conflicts", 422: "sync_rejections"}

blp = Blueprint("metrics", __name__)


def install(app: Flask) -> None:
    app.extensions["myodiary_metrics"] = exposition_registry(app)
    app.register_blueprint(blp)


@blp.get("/metrics")
def metrics():
    """Every counter and gauge, for Prometheus (not in the API's spec: an operator's endpoint)."""
    if not may_read(request.remote_addr, request.headers.get("Authorization", ""),
                    any(name in request.headers for name in FORWARDED), current_app.config["METRICS_TOKEN"]):
        abort(403, message=REFUSED)
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(current_app.extensions["myodiary_metrics"]), content_type=content_type)


def may_read(address: str | None, authorization: str, forwarded: bool, token: str) -> bool:
    """A loopback caller no proxy passed on, or the bearer of the token (compared in constant time)."""
    if token and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return True
    try:
        return not forwarded and ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def exposition_registry(app: Flask, with_database: bool = True) -> CollectorRegistry:
    """What a scrape reads: every process's counters (from the files of multiprocess mode, or this process's own),
    and the database's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(Forward(EVENTS))
        registry.register(Forward(REGISTRY))  # the process's CPU, memory and collector figures
    if with_database:
        registry.register(DatabaseCollector(app))
    return registry


class Forward:
    """Another registry's metrics, collected afresh at every scrape."""

    def __init__(self, source: CollectorRegistry):
        self.source = source

    def collect(self):
        return self.source.collect()


def record_request(method: str, route: str, status: int, seconds: float, endpoint: str | None) -> None:
    """The HTTP counters and latency of one answered request, and the sync counters when it was a sync."""
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)
    if endpoint in SYNC_ENDPOINTS:
        count_sync(endpoint, status)


def count_sync(endpoint: str, status: int) -> None:
    """Pulls and pushes by status; a stored push's records by table (from its body, which the push already read
    and cached); refusals by kind."""
    COUNTERS[SYNC_ENDPOINTS[endpoint]].labels(str(status)).inc()
    if status in SYNC_REFUSALS and endpoint == "sync.push":
        COUNTERS[SYNC_REFUSALS[status]].inc()
    elif status == 200 and endpoint == "sync.push":
        for table, change, records in pushed_records(request.get_data(cache=True)):
            if records:
                COUNTERS["sync_records_pushed"].labels(table, change).inc(records)


def pushed_records(body: bytes) -> list[tuple[str, str, int]]:
    """(table, created|updated|deleted, how many) of a push's body."""
    import orjson

    try:
        changes = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        return []
    if not isinstance(changes, dict):
        return []
    return [(table, change, len(records)) for table, changed in changes.items() if isinstance(changed, dict)
            for change, records in changed.items() if isinstance(records, list) and records]


def worker_started() -> None:
    """A gunicorn worker counts itself (livesum: its file goes with it, by child_exit)."""
    WEB_WORKERS.set(1)


# ---- gauges read from the database ---------------------------------------------------------------

class DatabaseCollector:
    """Queues, ages and freshness as the database holds them now; two queries per scrape."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        now = utcnow()
        try:
            with self.app.app_context(), db.engine.connect() as connection:
                figures = connection.execute(_figures_query(now)).one()._asdict()
                videos = dict(connection.execute(_videos_by_status()).all())
        except SQLAlchemyError as error:
            log.warning("metrics: the database did not answer: %s", type(error).__name__)
            yield _gauge("myodiary_database_up", "1 when the database answered this scrape's queries", 0)
            return
        yield _gauge("myodiary_database_up", "1 when the database answered this scrape's queries", 1)
        yield from _outbox_gauges("reminders", "reminder emails", figures, now)
        yield from _outbox_gauges("account_emails", "account emails", figures, now)
        yield from _video_gauges(figures, videos, now)
        yield _gauge("myodiary_summaries_stale", "Children whose summary is stale, waiting to be rebuilt",
                     figures["summaries_stale"])
        if figures["heartbeat"] is not None:
            yield _gauge("myodiary_scheduler_heartbeat_timestamp_seconds",
                         "When the scheduler last wrote its heartbeat (Unix time)", figures["heartbeat"].timestamp())


def _figures_query(now: datetime):
    """One round trip: every count, minimum and sum as a scalar subquery."""
    def scalar(expression, model, *conditions):
        return select(expression).select_from(model).where(*conditions).scalar_subquery()

    live_video = EpisodeVideo.deleted_at.is_(None)
    return select(
        scalar(func.count(), Reminder, Reminder.status.in_(WAITING)).label("reminders_queued"),
        scalar(func.count(), Reminder, Reminder.status == "pending", Reminder.attempts > 0).label("reminders_retrying"),
        scalar(func.min(Reminder.due_at), Reminder, Reminder.status.in_(WAITING), Reminder.due_at <= now).label(
            "reminders_oldest"),
        scalar(func.count(), AccountEmail, AccountEmail.status.in_(WAITING)).label("account_emails_queued"),
        scalar(func.count(), AccountEmail, AccountEmail.status == "pending", AccountEmail.attempts > 0).label(
            "account_emails_retrying"),
        scalar(func.min(AccountEmail.created_at), AccountEmail, AccountEmail.status.in_(WAITING)).label(
            "account_emails_oldest"),
        scalar(func.min(EpisodeVideo.updated_at), EpisodeVideo, EpisodeVideo.status == PROCESSING, live_video).label(
            "videos_oldest_processing"),
        scalar(func.coalesce(func.sum(EpisodeVideo.size_bytes), 0), EpisodeVideo, EpisodeVideo.status == READY,
               live_video).label("video_bytes"),
        scalar(func.coalesce(func.sum(UploadChunk.size), 0), UploadChunk).label("upload_bytes"),
        select(func.count()).select_from(ChildSummary).join(Child, Child.id == ChildSummary.child_id).where(
            STALE, Child.deleted_at.is_(None)).scalar_subquery().label("summaries_stale"),
        scalar(SchedulerHeartbeat.beat_at, SchedulerHeartbeat, SchedulerHeartbeat.name == "scheduler").label(
            "heartbeat"),
    )


def _videos_by_status():
    return select(EpisodeVideo.status, func.count()).where(EpisodeVideo.deleted_at.is_(None)).group_by(
        EpisodeVideo.status)


def _outbox_gauges(name: str, words: str, figures: dict, now: datetime):
    yield _gauge(f"myodiary_{name}_queued", f"{words.capitalize()} waiting to be sent (pending or being sent)",
                 figures[f"{name}_queued"])
    yield _gauge(f"myodiary_{name}_retrying", f"{words.capitalize()} waiting after a failed attempt",
                 figures[f"{name}_retrying"])
    yield _gauge(f"myodiary_{name}_oldest_due_age_seconds", f"How long the oldest of the {words} waiting has been "
                 "due (0: none waits)", _age(figures[f"{name}_oldest"], now))


def _video_gauges(figures: dict, videos: dict, now: datetime):
    by_status = GaugeMetricFamily("myodiary_videos", "Videos not deleted, by status", labels=["status"])
    for status in STATUSES:
        by_status.add_metric([status], videos.get(status, 0))
    yield by_status
    stored = GaugeMetricFamily("myodiary_video_bytes_stored", "Bytes in the video storage: processed videos, and "
                               "the chunks of uploads not yet processed", labels=["kind"])
    stored.add_metric(["videos"], figures["video_bytes"])
    stored.add_metric(["upload_chunks"], figures["upload_bytes"])
    yield stored
    yield _gauge("myodiary_videos_oldest_processing_age_seconds", "How long the video waiting longest for processing "
                 "has waited since its last byte (0: none waits)", _age(figures["videos_oldest_processing"], now))


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _age(since: datetime | None, now: datetime) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


# ---- the scheduler's own /metrics ----------------------------------------------------------------

class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the standard library's name
        """Scrapes every 15 s are not worth a log line."""


def serve_scheduler_metrics(app: Flask) -> ThreadingWSGIServer | None:
    """The scheduler's counters (reminders sent, jobs run) on SCHEDULER_METRICS_PORT, in a daemon thread, under
    the rule /metrics follows; the database's gauges are the web tier's to report."""
    port = app.config["SCHEDULER_METRICS_PORT"]
    if not port:
        return None
    token, serve = app.config["METRICS_TOKEN"], make_wsgi_app(exposition_registry(app, with_database=False))

    def guarded(environ, start_response):
        forwarded = any(f"HTTP_{name.upper().replace('-', '_')}" in environ for name in FORWARDED)
        if may_read(environ.get("REMOTE_ADDR"), environ.get("HTTP_AUTHORIZATION", ""), forwarded, token):
            return serve(environ, start_response)
        refusal = Forbidden()
        refusal.data = {"message": REFUSED}
        start_response("403 FORBIDDEN", [("Content-Type", "application/json")])
        return [json.dumps(error_payload(refusal)[0]).encode()]

    server = make_server(app.config["SCHEDULER_METRICS_ADDRESS"], port, guarded, ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="scheduler-metrics", daemon=True).start()
    log.info("scheduler metrics on http://%s:%s/metrics", app.config["SCHEDULER_METRICS_ADDRESS"], port)
    return server
