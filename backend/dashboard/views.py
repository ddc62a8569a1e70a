"""The clinician and family dashboard: server-rendered pages on the same accounts, progressively enhanced.

/dashboard/login, the patient list at /dashboard/, a patient at /dashboard/children/<child_id>, an
episode video's file at /dashboard/videos/<video_id>/content and /poster.jpg (the page's <video> plays it).
Every page answers only for children of the user's care teams (child_for: 404 otherwise), and every
clinician view is in the audit log. Exports and videos are the API's, behind the session instead of a token.
"""
from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from marshmallow import ValidationError

from backend.accounts.signin_limits import limit_signin
from backend.care_teams.access import READ, child_for
from backend.children.models import CONDITIONS
from backend.clinic import audit, notes
from backend.clinic.models import EEG_RESULTS
from backend.clinic.schemas import NoteBodySchema
from backend.dashboard import auth, labels, language, patient, patients
from backend.dashboard.blueprint import PATIENT_PAGE_POLICY, VIDEO_CACHE, bp, content_security_policy
from backend.db_types import utcnow
from backend.extensions import db
from backend.trends import charts, downloads
from backend.trends.loading import child_report
from backend.trends.report import AXES
from backend.videos.views import send_video


@bp.route("/login", methods=["GET", "POST"])
@limit_signin
def login():
    if request.method == "GET":
        return render_template("dashboard/login.html", next=request.args.get("next", ""))
    user = auth.check_password(request.form.get("email", ""), request.form.get("password", ""))
    if user is None:
        return render_template("dashboard/login.html", next=request.form.get("next", ""), failed=True,
                               email=request.form.get("email", "")), 401
    if auth.pending_user() is not None:  # two-factor sign-in: the code comes next
        return redirect(url_for("dashboard.login_code", next=request.form.get("next", "")))
    return redirect(auth.safe_next(request.form.get("next")))


@bp.route("/login/code", methods=["GET", "POST"])
@limit_signin
def login_code():
    """The second step of a two-factor sign-in: the authenticator app's code, or a recovery code."""
    next_page = request.values.get("next", "")
    if auth.pending_user() is None:
        flash(gettext("Sign in again: the password step is more than a few minutes old."), "error")
        return redirect(url_for("dashboard.login", next=next_page))
    if request.method == "GET":
        return render_template("dashboard/login_code.html", next=next_page)
    if auth.check_code(request.form.get("code", "")) is None:
        return render_template("dashboard/login_code.html", next=next_page, failed=True), 401
    return redirect(auth.safe_next(next_page))


@bp.route("/logout", methods=["POST"])
def logout():
    auth.sign_out()
    flash(gettext("You are signed out."))
    return redirect(url_for("dashboard.login"))


@bp.route("/language", methods=["POST"])
def choose_language():
    """The language switcher on every page (backend/dashboard/language.py)."""
    if not language.choose(request.form.get("locale", "")):
        abort(422)
    return redirect(auth.safe_next(request.form.get("next")))


@bp.route("/", methods=["GET"])
@auth.page_login_required
def patients_list():
    filter_name = request.args.get("filter", "all")
    filter_name = filter_name if filter_name in patients.FILTERS else "all"
    condition = request.args.get("condition") or None
    search = request.args.get("q", "").strip()[:patients.SEARCH_MAX_CHARS]
    listing = patients.patient_list(g.current_user, filter_name, condition, search, _page_number())
    audit.note_clinician_views(g.current_user, [row.child.id for row in listing.rows])
    link_args = {name: value for name, value in (("filter", filter_name if filter_name != "all" else None),
                                                 ("condition", condition), ("q", search)) if value}
    return render_template("dashboard/patients.html", rows=listing.rows, listing=listing, link_args=link_args,
                           filters=patients.FILTERS, filter_name=filter_name, conditions=CONDITIONS,
                           condition=condition, search=search, not_logged_days=patients.NOT_LOGGED_DAYS)


def _page_number() -> int:
    value = request.args.get("page", "")
    return int(value) if value.isdigit() and len(value) < 7 else 1


@bp.route("/children/<child_id>", methods=["GET"])
@auth.page_login_required
@audit.audited_read
def patient_page(child_id):
    child = child_for(g.current_user, child_id, need=READ)
    axis = request.args.get("age") if request.args.get("age") in AXES else None
    page = patient.patient_page(child, utcnow(), axis, patient.EpisodeFilters.from_args(request.args),
                                show_access_log=child.owner_id == g.current_user.id,
                                position=patient.EpisodePosition.from_args(request.args))
    html = render_template("dashboard/patient.html", page=page, eeg_results=EEG_RESULTS, axes=AXES,
                           can_write_notes=notes.is_clinician(g.current_user, child.id))
    return html, 200, {"Content-Security-Policy": content_security_policy(PATIENT_PAGE_POLICY)}


@bp.route("/children/<child_id>/chart.svg", methods=["GET"])
@auth.page_login_required
@audit.audited_read
def chart_svg(child_id):
    child = child_for(g.current_user, child_id, need=READ)
    axis = request.args.get("age") if request.args.get("age") in AXES else None
    svg = charts.chart_svg(child_report(child, utcnow(), axis=axis))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@bp.route("/children/<child_id>/notes", methods=["POST"])
@auth.page_login_required
@audit.audited_read
def add_note(child_id):
    child = child_for(g.current_user, child_id, need=READ)
    values = _note_form()
    if values is not None:
        notes.add_note(g.current_user, child.id, values)
        db.session.commit()
        flash(gettext("Note added."))
    return redirect(url_for("dashboard.patient_page", child_id=child.id) + "#notes")


@bp.route("/children/<child_id>/notes/<note_id>", methods=["POST"])
@auth.page_login_required
@audit.audited_read
def edit_note(child_id, note_id):
    child = child_for(g.current_user, child_id, need=READ)
    values = _note_form()
    if values is not None:
        notes.edit_note(g.current_user, child.id, note_id, values)
        db.session.commit()
        flash(gettext("Note saved."))
    return redirect(url_for("dashboard.patient_page", child_id=child.id) + f"#note-{note_id}")


def _note_form() -> dict | None:
    """The note form's values, or None with the errors flashed (nothing is stored)."""
    try:
        return NoteBodySchema().load({"text": request.form.get("text", "").strip(),
                                      "eeg": request.form.get("eeg") or None})
    except ValidationError as error:
        for name, messages in error.messages.items():
            flash(gettext("%(field)s: %(problems)s", field=labels.words(name, labels.NOTE_FIELDS),
                          problems=" ".join(str(message) for message in messages)), "error")
        return None


@bp.route("/children/<child_id>/export/<kind>", methods=["GET"])
@auth.page_login_required
@audit.audited_read
def export(child_id, kind):
    child = child_for(g.current_user, child_id, need=READ)
    if kind not in downloads.KINDS:
        abort(404)
    return downloads.download(kind, child, child_report(child, utcnow()))


@bp.route("/videos/<video_id>/content", methods=["GET"])
@auth.page_login_required
def video_content(video_id):
    """The MP4 with HTTP Range, as GET /api/v1/videos/{id}/content; a clinician's playback is in the access log."""
    return _send_video(video_id, "media_key")


@bp.route("/videos/<video_id>/poster.jpg", methods=["GET"])
@auth.page_login_required
def video_poster(video_id):
    return _send_video(video_id, "poster_key")


def _send_video(video_id: str, key_column: str) -> Response:
    response = send_video(video_id, key_column)  # the API's access check, access log and Range
    response.headers["Cache-Control"] = VIDEO_CACHE
    return response
