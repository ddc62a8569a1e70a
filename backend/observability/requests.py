"""Every request gets an id, answered in `X-Request-ID`, carried by every log record it causes and, with
LOG_FORMAT=json, one line of its own when answered; with metrics on, its counts and latency by route template.

The id is the one a proxy set (`X-Request-ID`, when it looks like an id: letters, digits and `._:-`, at most 128),
else a new one, so one request can be followed from the proxy through the response to the log.
"""
import logging
import re
import uuid
from time import perf_counter

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
UNMATCHED = "unmatched"  # the route label of a path no route matches (404)
log = logging.getLogger("backend.requests")


def install(app: Flask) -> None:
    """First before every other hook (its time counts), last after them all (their changes to the response count)."""
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.after_request_funcs.setdefault(None, []).insert(0, _finisher(app.config["METRICS_ENABLED"],
                                                                     app.config["LOG_FORMAT"] == "json"))


def start_request() -> None:
    g.request_started = perf_counter()
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _finisher(metrics_on: bool, log_requests: bool):
    record_request = None
    if metrics_on:
        from backend.observability.metrics import record_request

    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex  # a hook before ours answered: still an id
        response.headers[REQUEST_ID_HEADER] = request_id
        seconds = perf_counter() - g.get("request_started", perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        if record_request is not None:
            record_request(request.method, route, response.status_code, seconds, request.endpoint)
        if log_requests:
            log.info("%s %s %s", request.method, route, response.status_code,
                     extra={"request_id": request_id, "route": route, "status": response.status_code,
                            "duration_ms": round(seconds * 1000, 2)})
        return response

    return finish_request
