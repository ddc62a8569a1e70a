"""Logs that never carry a secret: tokens travel in some URLs (unsubscribe links, invite codes, the account
emails' verification and password-reset links).

`redact()` blanks them, bearer tokens and email addresses wherever a log line would show them. The app's own
records pass through `RedactingFilter`; gunicorn's access log through `RedactingGunicornLogger`
(backend/gunicorn_logging.py, set in backend/gunicorn_config.py). Request bodies (passwords) are never logged.
"""
import logging
import re

REDACTED = "[redacted]"
# Each pattern with the words (lower case) a line must hold for it to apply: most lines hold none, and are let
# through without running any pattern. (?!<): a route template's placeholder (/invites/<code>/accept, in the request
# line and spans) is no secret.
_PATTERNS = [
    (("/reminders/unsubscribe/",), re.compile(r"(/reminders/unsubscribe/)(?!<)[^/?#\s\"']+"), rf"\g<1>{REDACTED}"),
    (("/invites/",), re.compile(r"(/invites/)(?!<)[^/?#\s\"']+"), rf"\g<1>{REDACTED}"),
    (("/password-resets/",), re.compile(r"(/password-resets/)(?!<)[^/?#\s\"']+"), rf"\g<1>{REDACTED}"),
    (("bearer",), re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\g<1>{REDACTED}"),
    # in a URL's query, or a query string on its own (gunicorn's %(q)s atom: "token=..." with no "?")
    (("=",), re.compile(r"(?i)((?:^|[?&])(?:token|code|password|csrf_token)=)[^&#\s\"']+"), rf"\g<1>{REDACTED}"),
    # an email address (a person's), whole: in a message, a query (email=a%40b.example) or a path
    # (bounded repeats: a long line costs linear time)
    (("@", "%40"), re.compile(
        r"[A-Za-z0-9._%+-]{1,64}(?:@|%40)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}"), REDACTED),
]


def redact(text: str) -> str:
    lowered = text.lower()
    for hints, pattern, replacement in _PATTERNS:
        if any(hint in lowered for hint in hints):
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
