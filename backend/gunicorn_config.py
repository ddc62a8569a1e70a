"""gunicorn settings shared by `make run`, the Dockerfile and docker-compose:
`gunicorn -c python:backend.gunicorn_config --bind HOST:PORT 'backend:create_app()'`.

Access log on stdout, with secrets carried in URLs blanked (backend.logs).
"""
accesslog = "-"
logger_class = "backend.logs.RedactingGunicornLogger"
