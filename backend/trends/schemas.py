"""The trends response: weekly series, model, verdict, red flags, treatments, summaries."""
import json

import marshmallow as ma
from marshmallow import fields, validate

from backend.trends import thresholds as t
from backend.trends.report import AXES
from backend.trends.treatments import RESULTS

VERDICTS = ("resolved", "resolving", "stable", "worsening", "insufficient_data")


class TrendArgsSchema(ma.Schema):
    weeks = fields.Integer(load_default=t.DEFAULT_WEEKS, validate=validate.Range(min=1, max=260),
                           metadata={"description": "weeks of age to show, up to now"})
    age = fields.String(validate=validate.OneOf(AXES), metadata={
        "description": "age axis; corrected by default for children born before 37 weeks"})


class WeekSchema(ma.Schema):
    week = fields.Integer(required=True)
    start = fields.Date(required=True)
    age_weeks = fields.Float(required=True)
    corrected_age_weeks = fields.Float(allow_none=True)
    episodes = fields.Integer(required=True, metadata={"description": "episodes on watched nights"})
    unwatched_episodes = fields.Integer(required=True)
    watched_nights = fields.Integer(required=True)
    watched_hours = fields.Float(required=True)
    episodes_per_night = fields.Float(allow_none=True, metadata={"description": "null: nobody watched (missing)"})
    episodes_per_hour = fields.Float(allow_none=True)
    mean_duration_seconds = fields.Float(allow_none=True)
    share_awake = fields.Float(allow_none=True)
    share_not_stopped_on_waking = fields.Float(allow_none=True)


class RecentSchema(ma.Schema):
    weeks = fields.Integer()
    recent_rate = fields.Float()
    previous_rate = fields.Float()
    recent_nights = fields.Integer()
    previous_nights = fields.Integer()
    rate_ratio = fields.Float(allow_none=True)
    p_value = fields.Float(allow_none=True)


class CurvePointSchema(ma.Schema):
    age_weeks = fields.Float()
    rate = fields.Float()
    low = fields.Float()
    high = fields.Float()


class ModelSchema(ma.Schema):
    family = fields.String(metadata={
        "description": "poisson, or quasi_poisson when the Pearson dispersion is above 1"})
    dispersion = fields.Float()
    rate_ratio_per_4_weeks = fields.Float()
    ci_low = fields.Float()
    ci_high = fields.Float()
    p_value = fields.Float()
    weeks_used = fields.Integer()
    resolving_bound = fields.Float(allow_none=True, metadata={
        "description": "the rate ratio's one-sided upper bound the verdict reads (thresholds.RESOLVING_CONFIDENCE); "
                       "resolving needs it below thresholds.RESOLVING_BOUND_BELOW"})
    worsening_bound = fields.Float(allow_none=True, metadata={
        "description": "the one-sided lower bound (thresholds.WORSENING_CONFIDENCE); worsening needs it above 1"})
    kendall_tau = fields.Float(allow_none=True)
    kendall_p_value = fields.Float(allow_none=True, metadata={"description": "one-sided, falling"})
    kendall_p_value_rising = fields.Float(allow_none=True, metadata={"description": "one-sided, rising"})
    theil_slope_per_week = fields.Float(allow_none=True)
    recent = fields.Nested(RecentSchema, allow_none=True)
    curve = fields.List(fields.Nested(CurvePointSchema), metadata={"description": "fitted rate and 95% band"})


class RedFlagSchema(ma.Schema):
    code = fields.String(required=True, metadata={"description": "spasms_pattern comes first: the most urgent"})
    message = fields.String(required=True, metadata={"description": "in the reader's language; the code never changes"})
    evidence = fields.List(fields.String(), required=True, metadata={
        "description": "episode ids; abnormal_eeg: the clinician note's id; lost_skills: the development check ids; "
                       "spasms_pattern: the development check ids, then the episode ids"})
    since = fields.AwareDateTime(required=True, metadata={
        "description": "the first evidence; development flags: the date of the check that raised it"})
    checks = fields.List(fields.String(), required=True, metadata={
        "description": "the development check ids among the evidence (empty but for lost_skills and spasms_pattern)"})


class ReferencePointSchema(ma.Schema):
    label = fields.String(metadata={"description": "the age in the reader's words: '3 months', '3 meses'"})
    corrected_age_weeks = fields.Float()
    age_weeks_on_axis = fields.Float()
    share_resolved = fields.Float()
    applies = fields.Boolean()
    passed = fields.Boolean()


class WindowCountSchema(ma.Schema):
    nights = fields.Integer(required=True, metadata={"description": "watched nights in the window"})
    episodes = fields.Integer(required=True, metadata={"description": "episodes on those nights"})
    rate = fields.Float(required=True, allow_none=True, metadata={"description": "null: nobody watched"})


class TreatmentComparisonSchema(ma.Schema):
    result = fields.String(required=True, metadata={"enum": list(RESULTS)})
    before = fields.Nested(WindowCountSchema, required=True, metadata={
        "description": f"the {t.TREATMENT_WINDOW_DAYS} diary days before the start"})
    after = fields.Nested(WindowCountSchema, required=True, metadata={
        "description": f"the {t.TREATMENT_WINDOW_DAYS} diary days from the start, up to today and the stop"})
    rate_ratio = fields.Float(required=True, allow_none=True, metadata={
        "description": "after over before; null without an episode before or with too few nights"})
    p_value = fields.Float(required=True, allow_none=True, metadata={"description": "two-sample Poisson score test"})
    summary = fields.String(required=True, metadata={"description": "plain words; never advice about a medicine"})


class TreatmentPeriodSchema(ma.Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    dose = fields.String(required=True, allow_none=True)
    started_on = fields.Date(required=True)
    stopped_on = fields.Date(required=True, allow_none=True, metadata={"description": "null while ongoing"})
    started_age_weeks = fields.Float(required=True, metadata={"description": "on the report's age axis"})
    stopped_age_weeks = fields.Float(required=True, allow_none=True, metadata={"description": "null while ongoing"})
    comparison = fields.Nested(TreatmentComparisonSchema, required=True, allow_none=True, metadata={
        "description": "medicines only: episodes per watched night before and after the start"})


class SummarySchema(ma.Schema):
    caregiver = fields.String(required=True, metadata={"description": "plain words; says it is not a diagnosis"})
    clinician = fields.String(required=True)


class TrendsSchema(ma.Schema):
    child_id = fields.String(attribute="child.id")
    age_axis = fields.String(attribute="axis")
    generated_at = fields.AwareDateTime()
    age_weeks_now = fields.Float()
    corrected_age_weeks_now = fields.Float(allow_none=True)
    verdict = fields.Function(lambda report: report.verdict.code, metadata={"enum": list(VERDICTS)})
    verdict_reasons = fields.Function(lambda report: [str(reason) for reason in report.verdict.reasons],
                                      metadata={
        "description": "in the reader's language: the account's locale, else Accept-Language"})
    weekly = fields.List(fields.Nested(WeekSchema))
    model = fields.Nested(ModelSchema, allow_none=True)
    red_flags = fields.List(fields.Nested(RedFlagSchema))
    reference_points = fields.List(fields.Nested(ReferencePointSchema))
    summary = fields.Nested(SummarySchema)
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    treatments = fields.List(fields.Nested(TreatmentPeriodSchema), metadata={"description": "earliest start first"})


trends_schema = TrendsSchema()


class ChildSummarySchema(ma.Schema):
    """What a patient list shows of a child, kept fresh on every write."""

    verdict = fields.String(metadata={"enum": list(VERDICTS)})
    red_flags = fields.Method("dump_flags")
    rate_recent = fields.Float(allow_none=True, metadata={"description": "episodes per watched night, last 2 weeks"})
    rate_previous = fields.Float(allow_none=True, metadata={"description": "the 2 weeks before"})
    watched_nights_recent = fields.Integer()
    episodes_total = fields.Integer()
    last_logged_at = fields.AwareDateTime(allow_none=True)
    computed_at = fields.AwareDateTime()

    def dump_flags(self, summary) -> list[str]:
        return json.loads(summary.red_flag_codes)
