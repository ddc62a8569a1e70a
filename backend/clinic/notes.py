"""Clinician notes: only clinicians of the child's care team write them, each edits only their own."""
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import select

from backend.accounts.models import User
from backend.care_teams.access import active_membership
from backend.clinic.models import ClinicianNote
from backend.extensions import db


def notes_of(child_id: str):
    """A select of the child's notes."""
    return select(ClinicianNote).where(ClinicianNote.child_id == child_id)


def add_note(user: User, child_id: str, values: dict) -> ClinicianNote:
    _must_be_clinician(user, child_id)
    note = ClinicianNote(child_id=child_id, author_id=user.id, text=values["text"], eeg=values.get("eeg"))
    db.session.add(note)
    db.session.flush()
    return note


def edit_note(user: User, child_id: str, note_id: str, values: dict) -> ClinicianNote:
    note = db.session.scalar(notes_of(child_id).where(ClinicianNote.id == note_id))
    if note is None:
        abort(404, message=gettext("No such note."))
    if note.author_id != user.id:
        abort(403, message=gettext("Only the note's author may change it."))
    note.text, note.eeg = values["text"], values.get("eeg")
    return note


def is_clinician(user: User, child_id: str) -> bool:
    membership = active_membership(user.id, child_id)
    return membership is not None and membership.role == "clinician"


def _must_be_clinician(user: User, child_id: str) -> None:
    if not is_clinician(user, child_id):
        abort(403, message=gettext("Only the child's clinicians write clinical notes."))
