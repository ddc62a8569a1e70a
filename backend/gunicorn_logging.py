"""gunicorn's logger: its access log with the URL's secrets blanked (backend.logs.redact), and with LOG_FORMAT=json its
own lines JSON too (backend/observability/log_format.py), its access log left to the app's request line, which
carries the request id, route template, status, duration and caller."""
import os

from gunicorn.glogging import Logger

from backend.logs import install_redaction, redact
from backend.observability.log_format import JsonFormatter


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
        if os.environ.get("LOG_FORMAT", "text").lower() == "json":
            for handler in self.error_log.handlers + self.access_log.handlers:
                handler.setFormatter(JsonFormatter())
