"""Operating Myodiary in production (issue 24): Prometheus metrics, request ids in the logs, optional traces.

Nothing here imports prometheus_client or OpenTelemetry when the backend package is imported: gunicorn's
configuration (backend/gunicorn_config.py, imported with this package) first says where the workers' counters live
(PROMETHEUS_MULTIPROC_DIR), which prometheus_client reads once, when it is imported; and without
OTEL_EXPORTER_OTLP_ENDPOINT no part of OpenTelemetry is ever imported.
"""
from flask import Flask


def install(app: Flask) -> None:
    """Request ids and the request log always; /metrics unless METRICS_ENABLED is off; traces when configured."""
    from backend.observability import requests

    requests.install(app)
    if app.config["METRICS_ENABLED"]:
        from backend.observability import metrics

        metrics.install(app)
    if app.config["OTEL_EXPORTER_OTLP_ENDPOINT"]:
        from backend.observability import tracing

        tracing.install(app)
