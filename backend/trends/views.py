"""Trends of one child: the series and verdict, charts, and exports (CSV, FHIR, PDF)."""
from flask import Response

from backend.auth import current_user, login_required
from backend.blueprints import Blueprint
from backend.care_teams.access import READ, child_for
from backend.children.models import Child
from backend.clinic import audit
from backend.db_types import utcnow
from backend.extensions import db
from backend.trends import charts, downloads
from backend.trends.facts import child_facts
from backend.trends.freshness import ensure_fresh
from backend.trends.loading import child_report, kept_report_json
from backend.trends.report import TrendReport, default_axis
from backend.trends.schemas import TrendArgsSchema, TrendsSchema, trends_schema
from backend.trends.thresholds import DEFAULT_WEEKS

blp = Blueprint("trends", __name__, url_prefix="/api/v1",
                description="Is it resolving? Weekly rates against age, verdict, red flags, exports")


def _report(child_id: str, args: dict, child: Child | None = None) -> TrendReport:
    child = child or child_for(current_user(), child_id, need=READ)
    return child_report(child, utcnow(), weeks=args["weeks"], axis=args.get("age"))


def _image(body, mimetype: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Cache-Control": "private, max-age=300"})


@blp.route("/children/<child_id>/trends", methods=["GET"])
@login_required
@audit.audited_read
@blp.arguments(TrendArgsSchema, location="query")
@blp.alt_response(200, schema=TrendsSchema, success=True, description="The child's trends")
@blp.alt_response(404, response="NOT_FOUND")
def trends(args, child_id):
    """Weekly episode rates against age, the model, the verdict, red flags and treatments"""
    child = child_for(current_user(), child_id, need=READ)
    body = _fresh_default(child, args) or trends_schema.dumps(_report(child_id, args, child))
    return Response(body, mimetype="application/json")


def _fresh_default(child, args: dict) -> str | None:
    """The report kept with the child's summary in the reader's language, when asked with default arguments the
    same day."""
    ensure_fresh(db.session, [child.id])
    axis = default_axis(child_facts(child, with_eeg=False))
    if args["weeks"] == DEFAULT_WEEKS and args.get("age") in (None, axis):
        return kept_report_json(child, utcnow())
    return None


def _file_route(path: str, content_type: str, description: str):
    """GET /children/{child_id}/<path>: a chart or an export made from the child's trend report."""
    decorators = (blp.route(f"/children/<child_id>/{path}", methods=["GET"]), login_required, audit.audited_read,
                  blp.arguments(TrendArgsSchema, location="query"),
                  blp.alt_response(200, description=description, content_type=content_type, success=True),
                  blp.alt_response(404, response="NOT_FOUND"))

    def decorate(view):
        for decorator in reversed(decorators):
            view = decorator(view)
        return view
    return decorate


@_file_route("trends/chart.svg", "image/svg+xml", "The chart as SVG")
def chart_svg(args, child_id):
    """The weekly rate against age with the model line, its band and reference marks (SVG)"""
    return _image(charts.chart_svg(_report(child_id, args)), "image/svg+xml")


@_file_route("trends/chart.png", "image/png", "The chart as PNG, 600 px wide")
def chart_png(args, child_id):
    """The chart as PNG, for emails"""
    return _image(charts.chart_png(_report(child_id, args)), "image/png")


@_file_route("export.csv", "text/csv", "Episodes, sleep sessions and the weekly series")
def csv_export(args, child_id):
    """Export the diary and the weekly series as CSV"""
    child = child_for(current_user(), child_id, need=READ)
    return downloads.csv_download(child, _report(child_id, args, child))


@_file_route("export/fhir", "application/fhir+json", "A FHIR R4 Bundle (collection)")
def fhir_export(args, child_id):
    """Export as an HL7 FHIR R4 Bundle: Patient, RelatedPerson, Observations, MedicationStatements, Flags"""
    child = child_for(current_user(), child_id, need=READ)
    return downloads.fhir_download(child, _report(child_id, args, child))


@_file_route("report.pdf", "application/pdf", "A one- or two-page clinic-visit report")
def report_pdf_view(args, child_id):
    """A clinic-visit report: chart, verdict, red flags, treatments, development checks, the last weeks"""
    child = child_for(current_user(), child_id, need=READ)
    return downloads.pdf_download(child, _report(child_id, args, child))
