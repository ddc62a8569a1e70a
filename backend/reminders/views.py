"""Reminder schedules, the history of what was sent, a preview, opting out and one-click unsubscribe."""
from flask import Response
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import select

from backend.accounts.models import User
from backend.auth import current_user, login_required
from backend.blueprints import Blueprint
from backend.care_teams.access import READ, WRITE, active_membership, child_for
from backend.children.models import Child
from backend.clinic import audit
from backend.db_types import utcnow
from backend.extensions import HTML_PAGE, db
from backend.i18n import language_tag
from backend.pagination import PageArgsSchema, page_schema, paginate
from backend.reminders import recipients, service
from backend.reminders.delivery import Renderer, language_of
from backend.reminders.models import Reminder
from backend.reminders.schemas import PreviewSchema, ReminderSchema, ScheduleSchema
from backend.reminders.tokens import read_unsubscribe_token
from backend.trends.freshness import ensure_fresh

blp = Blueprint("reminders", __name__, url_prefix="/api/v1", description="Follow-up reminder emails")
ReminderPageSchema = page_schema(ReminderSchema, "ReminderPage")


@blp.route("/children/<child_id>/reminder-schedule", methods=["GET"])
@login_required
@audit.audited_read
@blp.response(200, ScheduleSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_schedule(child_id):
    """The child's reminder schedule (off until set)"""
    return _described(service.schedule_of(child_for(current_user(), child_id, need=READ)))


@blp.route("/children/<child_id>/reminder-schedule", methods=["PUT"])
@login_required
@blp.arguments(ScheduleSchema)
@blp.response(200, ScheduleSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def put_schedule(values, child_id):
    """Set when follow-up emails go out and to whom (caregivers)"""
    child = child_for(current_user(), child_id, need=WRITE)
    ensure_fresh(db.session, [child.id])  # what the emails already know is the summary now
    schedule = service.save_schedule(child, values)
    db.session.commit()
    return _described(schedule)


def _described(schedule) -> dict:
    return {**service.describe(schedule), "left_out": recipients.left_out(schedule)}


@blp.route("/children/<child_id>/reminder-schedule/opt-out", methods=["POST"])
@login_required
@audit.audited_read
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
def opt_out(child_id):
    """Stop this child's reminders for me"""
    service.set_opt_out(child_for(current_user(), child_id, need=READ).id, current_user().id, out=True)
    db.session.commit()


@blp.route("/children/<child_id>/reminder-schedule/opt-out", methods=["DELETE"])
@login_required
@audit.audited_read
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
def opt_in(child_id):
    """Get this child's reminders again"""
    service.set_opt_out(child_for(current_user(), child_id, need=READ).id, current_user().id, out=False)
    db.session.commit()


@blp.route("/children/<child_id>/reminders", methods=["GET"])
@login_required
@audit.audited_read
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, ReminderPageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def history(page_args, child_id):
    """What was sent, is waiting or failed, newest first"""
    child = child_for(current_user(), child_id, need=READ)
    query = select(Reminder).where(Reminder.child_id == child.id)
    return paginate(query, Reminder.created_at, Reminder.id, page_args, newest_first=True)


@blp.route("/children/<child_id>/reminders/preview", methods=["GET"])
@login_required
@audit.audited_read
@blp.response(200, PreviewSchema)
@blp.alt_response(404, response="NOT_FOUND")
def preview(child_id):
    """The next email to me exactly as it would go out"""
    child = child_for(current_user(), child_id, need=READ)
    schedule = service.schedule_of(child)
    kind = service.preview_kind(schedule)
    reminder = service.preview_reminder(child, schedule, current_user().id, kind)
    role = "clinician" if current_user().role == "clinician" else "caregiver"
    rendered, message = Renderer(utcnow()).message(reminder, child, current_user(), role, schedule)
    return {"kind": kind, "to": message["To"], "subject": rendered.subject, "text": rendered.text,
            "html": rendered.html}


def _page(title: str, body: str, status: int = 200) -> Response:
    """A small page in the current language; `body` is a sentence of plain text, or a form after it."""
    html = (f"<!doctype html><html lang={language_tag()}><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width'>"
            f"<title>{escape(title)}</title><body style='font-family:sans-serif;max-width:32rem;margin:2rem auto'>"
            f"<h1>{escape(title)}</h1>{body}</body></html>")
    return Response(html, status=status, mimetype="text/html")


def _unsubscribe_target(token: str):
    """The live child and its member the link was sent to, else (None, None): an expired link, a deleted child
    and a recipient who left the team all read as "not valid" and show nothing of the child."""
    found = read_unsubscribe_token(token)
    membership = found and active_membership(found[1], found[0])
    return (db.session.get(Child, found[0]), found[1]) if membership else (None, None)


@blp.route("/reminders/unsubscribe/<token>", methods=["GET"])
@blp.doc(security=[])
@blp.alt_response(200, schema=HTML_PAGE, content_type="text/html", success=True,
                  description="A page with a button that unsubscribes")
@blp.alt_response(404, response="LINK_NOT_VALID")
def unsubscribe_page(token):
    """The unsubscribe link: a page to confirm (mail scanners follow links, so GET changes nothing)"""
    child, user_id = _unsubscribe_target(token)
    if child is None:
        return _not_valid()
    with force_locale(language_of(db.session.get(User, user_id))):
        question, button = _("Stop the follow-up emails about %(child)s?", child=child.name), _("Unsubscribe")
        return _page(button, f"<p>{escape(question)}</p><form method=post><button type=submit>{escape(button)}"
                     "</button></form>")


@blp.route("/reminders/unsubscribe/<token>", methods=["POST"])
@blp.doc(security=[])
@blp.alt_response(200, schema=HTML_PAGE, content_type="text/html", success=True,
                  description="Unsubscribed (RFC 8058 one-click)")
@blp.alt_response(404, response="LINK_NOT_VALID")
def unsubscribe(token):
    """One-click unsubscribe (List-Unsubscribe-Post), no sign-in needed"""
    child, user_id = _unsubscribe_target(token)
    if child is None:
        return _not_valid()
    service.set_opt_out(child.id, user_id, out=True)
    db.session.commit()
    with force_locale(language_of(db.session.get(User, user_id))):
        sentence = _("You will no longer get follow-up emails about %(child)s.", child=child.name)
        return _page(_("Unsubscribed"), f"<p>{escape(sentence)}</p>")


def _not_valid() -> Response:
    """In the language the browser asks for: nothing tells whose link it was."""
    sentence = _("This unsubscribe link is not valid.")
    return _page(_("Link not valid"), f"<p>{escape(sentence)}</p>", 404)
