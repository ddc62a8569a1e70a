"""gunicorn settings shared by `make run`, the Dockerfile and docker-compose:
`gunicorn -c python:backend.gunicorn_config --bind HOST:PORT 'backend:create_app()'`.

Access log on stdout, with secrets carried in URLs blanked (backend.logs); a worker timeout long enough
for a video upload's PATCH.
"""
accesslog = "-"
# A video PATCH (tus) of up to 300 MB takes longer than gunicorn's default 30 s on a slow link when no
# buffering proxy sits in front (make run); behind nginx (docker-compose) bodies arrive at once.
timeout = 300
logger_class = "backend.logs.RedactingGunicornLogger"


def on_starting(server) -> None:
    """Several workers counting sign-in limits in memory count them apart (each its own counter): say so."""
    import os

    uri = os.environ.get("RATELIMIT_STORAGE_URI", "myodiary-db://")
    if uri.startswith("memory://") and server.cfg.workers > 1:
        server.log.warning("RATELIMIT_STORAGE_URI=memory:// with %d workers: every worker counts sign-in limits "
                           "on its own, so they allow %d times as many attempts; use myodiary-db:// (the default) "
                           "or redis://", server.cfg.workers, server.cfg.workers)
