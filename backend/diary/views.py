"""REST endpoints of the diary: episodes, sleep sessions, treatments and development checks, built by one
factory.

  GET|POST /children/{child_id}/<collection>       list (newest first, filtered) and create
  GET|PUT|PATCH|DELETE /<collection>/{entry_id}    read, create-or-replace, change, delete
"""
from dataclasses import dataclass

import marshmallow as ma

from backend.auth import current_user, login_required
from backend.blueprints import Blueprint
from backend.care_teams.access import READ, WRITE, child_for
from backend.clinic import audit
from backend.database import commit_keeping_loaded, reads_first
from backend.diary import entries
from backend.diary.models import DevelopmentCheck, Episode, SleepSession, Treatment
from backend.diary.schemas import (
    DevelopmentCheckFilterSchema,
    DevelopmentCheckPatchSchema,
    DevelopmentCheckSchema,
    EpisodeFilterSchema,
    EpisodePatchSchema,
    EpisodeSchema,
    SleepSessionFilterSchema,
    SleepSessionPatchSchema,
    SleepSessionSchema,
    TreatmentFilterSchema,
    TreatmentPatchSchema,
    TreatmentSchema,
)
from backend.extensions import db
from backend.pagination import PageArgsSchema, page_schema
from backend.videos import lifecycle as video_lifecycle

blp = Blueprint("diary", __name__, url_prefix="/api/v1",
                description="The caregivers' diary: episodes, sleep sessions, treatments and development checks")


@dataclass(frozen=True)
class Resource:
    model: type
    path: str  # URL segment, e.g. "sleep-sessions"
    id_param: str  # e.g. "sleep_session_id"
    noun: str  # for summaries, e.g. "sleep session"
    schema: type[ma.Schema]
    patch_schema: type[ma.Schema]
    filter_schema: type[ma.Schema]
    key: str = "started_at"  # the column lists are ordered (newest first) and filtered by


def register(resource: Resource) -> None:
    name = resource.model.__tablename__
    item_rule = f"/{resource.path}/<{resource.id_param}>"
    schema, noun = resource.schema(), resource.noun
    filters = type(f"{resource.model.__name__}ListArgsSchema",
                   (resource.filter_schema, PageArgsSchema), {})
    page = page_schema(resource.schema, f"{resource.model.__name__}Page")

    @blp.route(f"/children/<child_id>/{resource.path}", methods=["GET"], endpoint=f"list_{name}")
    @login_required
    @audit.audited_read
    @blp.arguments(filters, location="query")
    @blp.response(200, page)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(summary=f"The child's {noun}s, newest first")
    def list_entries(args, child_id):
        child = child_for(current_user(), child_id, need=READ)
        query = entries.entries_of(resource.model, child, args, resource.key)
        return entries.page_of(query, resource.model, resource.key, args)

    @blp.route(f"/children/<child_id>/{resource.path}", methods=["POST"], endpoint=f"create_{name}")
    @reads_first
    @login_required
    @blp.arguments(resource.schema)
    @blp.response(201, schema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.doc(summary=f"Log a {noun} (caregivers)")
    def create(values, child_id):
        child = child_for(current_user(), child_id, need=WRITE)
        entry = entries.create_entry(resource.model, child, values, current_user())
        entries.commit_created(entry, current_user())
        return entry

    @blp.route(item_rule, methods=["GET"], endpoint=f"get_{name}")
    @login_required
    @blp.response(200, schema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(summary=f"One {noun}")
    def get(**path):
        entry_id = path[resource.id_param]
        entry = entries.entry_for(current_user(), resource.model, entry_id, need=READ)
        audit.note_clinician_view(current_user(), entry.child_id)
        return entry

    @blp.route(item_rule, methods=["PUT"], endpoint=f"put_{name}")
    @login_required
    @blp.arguments(resource.schema)
    @blp.response(200, schema)
    @blp.alt_response(201, schema=resource.schema, description="Created under this id")
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.doc(summary=f"Create a {noun} under a client-chosen id, or replace it (idempotent)")
    def put(values, **path):
        entry_id = path[resource.id_param]
        entry, created = entries.replace_entry(resource.model, entry_id, values, current_user())
        commit_keeping_loaded()
        return entry, 201 if created else 200

    @blp.route(item_rule, methods=["PATCH"], endpoint=f"patch_{name}")
    @login_required
    @blp.arguments(resource.patch_schema(partial=True))
    @blp.response(200, schema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(summary=f"Change some fields of a {noun}")
    def patch(values, **path):
        entry_id = path[resource.id_param]
        entry = entries.entry_for(current_user(), resource.model, entry_id, need=WRITE)
        entries.update_entry(entry, values, current_user())
        commit_keeping_loaded()
        return entry

    @blp.route(item_rule, methods=["DELETE"], endpoint=f"delete_{name}")
    @login_required
    @blp.response(204)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(summary=f"Delete a {noun} (and an episode's videos); phones get the deletion at their next sync")
    def delete(**path):
        entry_id = path[resource.id_param]
        entries.delete_entry(entries.entry_for(current_user(), resource.model, entry_id, need=WRITE))
        videos = video_lifecycle.delete_videos_of_episodes([entry_id]) if resource.model is Episode else []
        db.session.commit()
        if videos:
            video_lifecycle.sweep(video_ids=videos)  # else the scheduler's next pass removes the files


register(Resource(Episode, "episodes", "episode_id", "episode", EpisodeSchema, EpisodePatchSchema,
                  EpisodeFilterSchema))
register(Resource(SleepSession, "sleep-sessions", "sleep_session_id", "sleep session", SleepSessionSchema,
                  SleepSessionPatchSchema, SleepSessionFilterSchema))
register(Resource(Treatment, "treatments", "treatment_id", "treatment", TreatmentSchema, TreatmentPatchSchema,
                  TreatmentFilterSchema, key="started_on"))
register(Resource(DevelopmentCheck, "development-checks", "development_check_id", "development check",
                  DevelopmentCheckSchema, DevelopmentCheckPatchSchema, DevelopmentCheckFilterSchema,
                  key="checked_on"))
