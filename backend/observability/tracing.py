"""OpenTelemetry traces, only when OTEL_EXPORTER_OTLP_ENDPOINT is set: a span per Flask request (named by its
route template), per SQLAlchemy statement and per scheduler job run, exported over OTLP/HTTP.

Without the endpoint nothing of OpenTelemetry is imported (tests/test_imports.py checks it) and `span()` is a null
context. Secrets in URLs are scrubbed from every span's name, attributes and events as the logs scrub them
(backend.logs) on the way to the exporter (`scrubbing`).
"""
from contextlib import nullcontext

from flask import Flask

from backend.logs import redact

_tracer = None  # set by install(); jobs' spans come from it


def install(app: Flask, exporter=None) -> None:
    """Flask and SQLAlchemy instrumented, spans batched to the OTLP endpoint (or to `exporter`, for tests)."""
    _require_opentelemetry()
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    global _tracer
    provider = TracerProvider(resource=Resource.create({"service.name": app.config["OTEL_SERVICE_NAME"]}))
    provider.add_span_processor(_export_processor(app, exporter))
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider, excluded_urls="/metrics,/healthz,/readyz")
    with app.app_context():
        from backend.extensions import db

        instrumentor = SQLAlchemyInstrumentor()
        if instrumentor.is_instrumented_by_opentelemetry:  # one app per process in production; tests make more
            instrumentor.uninstrument()
        # Its declared range stops below SQLAlchemy 2.1; the engine events it listens to are unchanged there
        instrumentor.instrument(engine=db.engine, tracer_provider=provider, skip_dep_check=True)
    app.extensions["myodiary_tracer_provider"] = provider
    _tracer = provider.get_tracer("backend.jobs")


def _require_opentelemetry() -> None:
    """An endpoint without the libraries is a configuration error, said at start rather than as an ImportError."""
    try:
        import opentelemetry.sdk  # noqa: F401
    except ImportError as missing:
        from backend.config import ConfigError

        raise ConfigError("OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed: "
                          "pip install -c constraints.txt -e '.[tracing]'") from missing


def _export_processor(app: Flask, exporter):
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is not None:
        return SimpleSpanProcessor(scrubbing(exporter))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = app.config["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/")
    return BatchSpanProcessor(scrubbing(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))


def scrubbing(exporter):
    """`exporter`, handed copies of the spans with secrets blanked in names, attributes and events (URLs, queries,
    exception messages): instrumentations set attributes all through a span's life, so they are scrubbed at the end,
    on the way out."""
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter

    def clean(attributes) -> dict:
        return {key: redact(value) if isinstance(value, str) else value for key, value in (attributes or {}).items()}

    def scrubbed(span: ReadableSpan) -> ReadableSpan:
        return ReadableSpan(name=redact(span.name), context=span.context, parent=span.parent, resource=span.resource,
                            attributes=clean(span.attributes), links=span.links, kind=span.kind, status=span.status,
                            events=[Event(event.name, clean(event.attributes), event.timestamp)
                                    for event in span.events],
                            start_time=span.start_time, end_time=span.end_time,
                            instrumentation_scope=span.instrumentation_scope)

    class Scrubbing(SpanExporter):
        def export(self, spans):
            return exporter.export([scrubbed(span) for span in spans])

        def shutdown(self) -> None:
            exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return exporter.force_flush(timeout_millis)

    return Scrubbing()


def span(name: str, attributes: dict | None = None):
    """A span around a scheduler job's run, or nothing when tracing is off."""
    if _tracer is None:
        return nullcontext()
    return _tracer.start_as_current_span(name, attributes=attributes)
