"""The log's two formats: text for a terminal (`make run`), JSON for a log pipeline (LOG_FORMAT=json).

Each record carries the context it was logged in: the request's id, method, route template and caller (set by
backend/observability/requests.py), or the scheduler job's name and run id (backend/observability/jobs.py). A JSON
line is one object: time, level, logger, message, then whichever of those fields the record has, and the traceback.
Secrets never reach either format: messages and tracebacks pass through backend.logs.redact (tokens in URLs, bearer
tokens, email addresses), and the request line names the route template, never the path with its ids.
"""
import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import g, has_request_context, request
from sqlalchemy import inspect

from backend.logs import redact

CONTEXT_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "user_id", "job", "run_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"
current_run: ContextVar[tuple[str, str] | None] = ContextVar("myodiary_scheduler_run", default=None)  # (job, run id)


class ContextFilter(logging.Filter):
    """Adds the request's or the job run's context to each record (fields a record already has are kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            _setdefault(record, request_id=g.get("request_id"), method=request.method,
                        route=request.url_rule.rule if request.url_rule else None, user_id=caller_id())
        elif (run := current_run.get()) is not None:
            _setdefault(record, job=run[0], run_id=run[1])
        return True


def _setdefault(record: logging.LogRecord, **fields) -> None:
    for name, value in fields.items():
        if getattr(record, name, None) is None:
            setattr(record, name, value)


def caller_id() -> str | None:
    """The signed-in caller's id, from the identity SQLAlchemy keeps (no query, even after a commit expired it)."""
    user = g.get("current_user")
    identity = inspect(user).identity if user is not None else None
    return identity[0] if identity else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": redact(record.getMessage())}
        for field in CONTEXT_FIELDS:
            if (value := getattr(record, field, None)) is not None:
                entry[field] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with the request id (or the job and run id) in brackets after the logger's name."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        request_id, run_id = getattr(record, "request_id", None), getattr(record, "run_id", None)
        record.context = (f" [{request_id}]" if request_id
                          else f" [{getattr(record, 'job', '')} {run_id}]" if run_id else "")
        return super().format(record)


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(level: str, log_format: str) -> None:
    """A handler on stderr in the chosen format, unless the root logger has handlers already (as basicConfig
    does: a test runner's, or a host application's); the context on every handler of the root logger."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter_for(log_format))
        root.addHandler(handler)
        root.setLevel(level)
    install_context(root)


def install_context(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if not any(isinstance(existing, ContextFilter) for existing in handler.filters):
            handler.addFilter(ContextFilter())
