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
