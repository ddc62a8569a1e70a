"""A child's exports as downloads (CSV, FHIR, PDF), the same for the API and the dashboard. The FHIR and PDF
writers are imported on their first download: fhir.resources, reportlab and matplotlib stay out of a web worker
that never serves one (issue 23)."""
import json

from flask import Response
from sqlalchemy import select

from backend.accounts.models import User
from backend.care_teams.models import Membership
from backend.children.models import Child
from backend.diary.models import DevelopmentCheck, Episode, SleepSession, Treatment
from backend.extensions import db
from backend.trends.exports.csv_export import export_csv
from backend.trends.report import TrendReport

KINDS = ("csv", "fhir", "pdf")


def download(kind: str, child: Child, report: TrendReport) -> Response:
    return {"csv": csv_download, "fhir": fhir_download, "pdf": pdf_download}[kind](child, report)


def csv_download(child: Child, report: TrendReport) -> Response:
    body = export_csv(_diary(Episode, child.id), _diary(SleepSession, child.id), report)
    return _attachment(body, "text/csv", f"myodiary-{child.id}.csv")


def fhir_download(child: Child, report: TrendReport) -> Response:
    from backend.trends.exports.fhir import fhir_bundle

    caregivers = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.child_id == child.id, Membership.revoked_at.is_(None),
        Membership.role.in_(("owner", "caregiver")))).all()
    bundle = fhir_bundle(child, caregivers, _diary(Episode, child.id), report, treatments(child.id),
                         development_checks(child.id))
    return Response(json.dumps(bundle), mimetype="application/fhir+json", headers={
        "Content-Disposition": f'attachment; filename="myodiary-{child.id}.fhir.json"',
        "Cache-Control": "private, no-store"})


def pdf_download(child: Child, report: TrendReport) -> Response:
    from backend.trends.exports.pdf import report_pdf

    body = report_pdf(report, treatments=treatments(child.id), checks=development_checks(child.id))
    response = _attachment(body, "application/pdf", f"myodiary-{child.id}.pdf")
    response.headers["Content-Disposition"] = f'inline; filename="myodiary-{child.id}.pdf"'
    return response


def _diary(model, child_id: str) -> list:
    return db.session.scalars(select(model).where(model.child_id == child_id, model.deleted_at.is_(None))
                              .order_by(model.started_at)).all()


def treatments(child_id: str) -> list[Treatment]:
    """The child's live treatments, oldest first."""
    return db.session.scalars(select(Treatment).where(Treatment.child_id == child_id, Treatment.deleted_at.is_(None))
                              .order_by(Treatment.started_on, Treatment.created_at, Treatment.id)).all()


def development_checks(child_id: str) -> list[DevelopmentCheck]:
    """The child's live development checks, oldest first."""
    return db.session.scalars(select(DevelopmentCheck).where(
        DevelopmentCheck.child_id == child_id, DevelopmentCheck.deleted_at.is_(None))
        .order_by(DevelopmentCheck.checked_on, DevelopmentCheck.created_at, DevelopmentCheck.id)).all()


def _attachment(body, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})
