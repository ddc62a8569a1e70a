"""Traces (issue 24): with tracing installed, a span per request named by its route template, its SQL statements
inside it, a span per scheduler job run, and no secret of a URL in any span."""
import pytest

from backend.extensions import db
from backend.observability import tracing
from backend.observability.jobs import observed_job

pytest.importorskip("opentelemetry.sdk", reason="OpenTelemetry is not installed (the tracing extra)")
from opentelemetry.instrumentation.flask import FlaskInstrumentor  # noqa: E402
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

pytestmark = pytest.mark.fresh_app  # tracing is installed on the app, before its first request


@pytest.fixture
def spans(app):
    """Tracing installed with an in-memory exporter, before the app's first request; the exporter."""
    exporter = InMemorySpanExporter()
    tracing.install(app, exporter=exporter)
    yield exporter
    FlaskInstrumentor.uninstrument_app(app)
    SQLAlchemyInstrumentor().uninstrument()
    tracing._tracer = None


def test_a_request_is_a_span_named_by_its_route_with_its_sql_inside(spans, client, family):
    child_id = family["child"]["id"]
    spans.clear()
    response = client.get(f"/api/v1/children/{child_id}", headers=family["owner"].headers)
    assert response.status_code == 200
    finished = spans.get_finished_spans()
    (request,) = [span for span in finished if span.kind == SpanKind.SERVER]
    assert request.name == "GET /api/v1/children/<child_id>"
    assert request.attributes["http.route"] == "/api/v1/children/<child_id>"
    statements = [span for span in finished if span.kind == SpanKind.CLIENT]
    assert statements and all(span.context.trace_id == request.context.trace_id for span in statements)
    assert all(span.name.split()[0] in ("SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT", "connect")
               for span in statements), [span.name for span in statements]
    assert child_id not in request.name


def test_a_scheduler_job_run_is_a_span_with_its_statements(spans, app):
    @observed_job("tracing-test")
    def job():
        with app.app_context():
            db.session.execute(db.text("SELECT 1"))
            db.session.rollback()

    spans.clear()
    job()
    finished = spans.get_finished_spans()
    (run,) = [span for span in finished if span.name == "job tracing-test"]
    assert run.attributes["myodiary.job"] == "tracing-test" and len(run.attributes["myodiary.run_id"]) == 12
    statements = [span for span in finished if span.kind == SpanKind.CLIENT]
    assert statements and all(span.parent.span_id == run.context.span_id for span in statements)


def test_secrets_in_urls_never_reach_a_span(spans, client, family):
    spans.clear()
    client.post("/api/v1/invites/SECRET-INVITE-CODE/accept?token=SECRET-TOKEN", headers=family["owner"].headers)
    client.get("/api/v1/reminders/unsubscribe/SECRET-UNSUBSCRIBE")
    client.get("/dashboard/reset-password?token=SECRET-RESET&email=ana%40clinic.example")
    finished = spans.get_finished_spans()
    assert {span.name for span in finished if span.kind == SpanKind.SERVER} >= {
        "POST /api/v1/invites/<code>/accept", "GET /api/v1/reminders/unsubscribe/<token>"}
    shown = " ".join([span.name for span in finished] + [str(value) for span in finished
                                                          for value in span.attributes.values()])
    for secret in ("SECRET-INVITE-CODE", "SECRET-TOKEN", "SECRET-UNSUBSCRIBE", "SECRET-RESET", "ana%40clinic"):
        assert secret not in shown
    assert "[redacted]" in shown  # the URLs are there, blanked
