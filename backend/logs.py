"""Logs that never carry a secret: tokens travel in some URLs (unsubscribe links, invite codes, the account
emails' verification and password-reset links).

`redact()` blanks them and bearer tokens wherever a log line would show them. The app's own
records pass through `RedactingFilter`; gunicorn's access log through `RedactingGunicornLogger`
(set in backend/gunicorn_config.py). Request bodies (passwords) are never logged at all.
"""
import logging
import re

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
_PATTERNS = [
    (re.compile(r"(/reminders/unsubscribe/)[^/?#\s\"']+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(/invites/)[^/?#\s\"']+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(/password-resets/)[^/?#\s\"']+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\g<1>{REDACTED}"),
    # in a URL's query, or a query string on its own (gunicorn's %(q)s atom: "token=..." with no "?")
    (re.compile(r"(?i)((?:^|[?&])(?:token|code|password|csrf_token)=)[^&#\s\"']+"), rf"\g<1>{REDACTED}"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with the secrets blanked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """On every handler of the root logger (filters on handlers see records of all loggers)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


class RedactingGunicornLogger(Logger):
    """gunicorn's access log with the URL's secrets blanked: the request line, path, query and referer, and the
    same read from a header or the environment (%({referer}i)s, %({raw_uri}e)s...), should a format use them."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}

    def setup(self, cfg):
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            install_redaction(logger)
