"""Request and response bodies of children (fields as SYNC_SCHEMA.md, dates ISO)."""
from datetime import date

import marshmallow as ma
from marshmallow import ValidationError, fields, validate, validates

from backend.children.models import CONDITIONS, SEXES
from backend.children.rules import birth_date_problem
from backend.trends.schemas import ChildSummarySchema
from backend.validation import validate_name, validate_timezone


class AgeSchema(ma.Schema):
    days = fields.Integer(required=True)
    weeks = fields.Float(required=True)
    months = fields.Float(required=True)
    display = fields.String(required=True, metadata={"description": "Weeks up to 13 weeks, then months"})


class AgesSchema(ma.Schema):
    chronological = fields.Nested(AgeSchema, required=True)
    corrected = fields.Nested(AgeSchema, allow_none=True, required=True, metadata={
        "description": "Chronological age minus (40 - gestational weeks); null without gestational weeks"})
    show_corrected = fields.Boolean(required=True, metadata={
        "description": "Born before 37 weeks and under 2 years: show corrected beside chronological"})


class ChildSchema(ma.Schema):
    id = fields.String(dump_only=True)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=80), validate_name])
    birth_date = fields.Date(required=True)
    gestational_weeks = fields.Float(
        allow_none=True, validate=validate.Range(min=22, max=44),
        metadata={"description": "Weeks of gestation at birth; corrected age needs it"})
    sex = fields.String(allow_none=True, validate=validate.OneOf(SEXES))
    timezone = fields.String(required=True, validate=validate_timezone)
    condition = fields.String(load_default="unspecified", validate=validate.OneOf(CONDITIONS))
    owner_id = fields.String(dump_only=True)
    age = fields.Nested(AgesSchema, dump_only=True, metadata={
        "description": "Chronological and corrected age today, in the child's timezone"})
    summary = fields.Nested(ChildSummarySchema, dump_only=True, allow_none=True, metadata={
        "description": "verdict, red flags and recent rates, kept fresh on every write"})
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)

    @validates("birth_date")
    def validate_birth_date(self, value: date, **kwargs) -> None:
        if problem := birth_date_problem(value):
            raise ValidationError(problem)


class ChildPatchSchema(ChildSchema):
    """Any subset of a child's fields."""


child_patch_schema = ChildPatchSchema(partial=True)
