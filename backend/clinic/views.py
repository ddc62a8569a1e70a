"""Clinician notes (with an EEG result) and the owner's view of the clinician-access log."""
from backend.auth import current_user, login_required
from backend.blueprints import Blueprint
from backend.care_teams.access import OWN, READ, child_for
from backend.clinic import audit, notes
from backend.clinic.models import AccessEvent, ClinicianNote
from backend.clinic.schemas import AccessEventSchema, NoteBodySchema, NoteSchema
from backend.extensions import db
from backend.pagination import PageArgsSchema, page_schema, paginate

blp = Blueprint("clinic", __name__, url_prefix="/api/v1", description="Clinician notes and the access log")
NotePageSchema = page_schema(NoteSchema, "NotePage")
AccessEventPageSchema = page_schema(AccessEventSchema, "AccessEventPage")


@blp.route("/children/<child_id>/notes", methods=["GET"])
@login_required
@audit.audited_read
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, NotePageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def list_notes(page_args, child_id):
    """The child's clinician notes, newest first (every member reads them)"""
    child = child_for(current_user(), child_id, need=READ)
    return paginate(notes.notes_of(child.id), ClinicianNote.created_at, ClinicianNote.id, page_args,
                    newest_first=True)


@blp.route("/children/<child_id>/notes", methods=["POST"])
@login_required
@audit.audited_read
@blp.arguments(NoteBodySchema)
@blp.response(201, NoteSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def add_note(values, child_id):
    """Add a note, optionally with an EEG result (clinicians of the child only)"""
    child = child_for(current_user(), child_id, need=READ)
    note = notes.add_note(current_user(), child.id, values)
    db.session.commit()
    return note


@blp.route("/children/<child_id>/notes/<note_id>", methods=["PUT"])
@login_required
@audit.audited_read
@blp.arguments(NoteBodySchema)
@blp.response(200, NoteSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def edit_note(values, child_id, note_id):
    """Change one of my notes"""
    child = child_for(current_user(), child_id, need=READ)
    note = notes.edit_note(current_user(), child.id, note_id, values)
    db.session.commit()
    return note


@blp.route("/children/<child_id>/access-log", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, AccessEventPageSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def access_log(page_args, child_id):
    """Which clinician viewed the child's data, what and when, newest first (the owner only)"""
    child = child_for(current_user(), child_id, need=OWN)
    query = db.select(AccessEvent).where(AccessEvent.child_id == child.id)
    return paginate(query, AccessEvent.at, AccessEvent.id, page_args, newest_first=True)
