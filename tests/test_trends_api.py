"""Trends over HTTP: the verdict, red flags, freshness of the patient list, charts and exports."""
import csv
import io
import json
from datetime import date, timedelta

import pytest

from backend.diary.simulation import Course, resolving
from tests.helpers import assert_error, episode_body
from tests.sync_helpers import log_course


@pytest.fixture
def older_family(api):
    owner = api.register()
    child = api.create_child(owner, birth_date=(date.today() - timedelta(weeks=16)).isoformat())
    clinician = api.register("clinician")
    api.join(owner, child["id"], clinician)
    return {"owner": owner, "clinician": clinician, "child": child}


def trends(client, account, child_id, **query):
    return client.get(f"/api/v1/children/{child_id}/trends", query_string=query, headers=account.headers)


@pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)
def test_a_resolving_course_reads_resolving_for_family_and_clinician(client, older_family):
    owner, clinician, child_id = older_family["owner"], older_family["clinician"], older_family["child"]["id"]
    log_course(client, owner, child_id, resolving(start=6, halving_weeks=3))
    body = trends(client, clinician, child_id).json
    assert body["verdict"] == "resolving" and body["verdict_reasons"]
    assert set(body) >= {"weekly", "model", "red_flags", "summary", "verdict", "reference_points"}
    assert body["model"]["ci_high"] < 1 and body["model"]["family"] in ("poisson", "quasi_poisson")
    assert "not a diagnosis" in body["summary"]["caregiver"]
    assert "RR per 4 weeks" in body["summary"]["clinician"]
    observed = [w for w in body["weekly"] if w["watched_nights"]]
    assert len(observed) >= 11 and all(w["episodes_per_night"] is not None for w in observed)
    assert body["red_flags"] == []


def test_an_empty_diary_is_insufficient_data(client, family):
    body = trends(client, family["owner"], family["child"]["id"]).json
    assert body["verdict"] == "insufficient_data" and body["weekly"] == [] and body["model"] is None
    assert "keep logging" in body["summary"]["caregiver"]


@pytest.mark.parametrize("query, field", [({"weeks": 0}, "weeks"), ({"age": "gestational"}, "age")])
def test_trend_arguments_are_checked(client, family, query, field):
    assert_error(trends(client, family["owner"], family["child"]["id"], **query), 422, field=field)


def test_trends_are_for_the_care_team_only(client, family, api):
    stranger = api.register()
    for path in ("trends", "trends/chart.svg", "trends/chart.png", "export.csv", "export/fhir", "report.pdf"):
        assert_error(client.get(f"/api/v1/children/{family['child']['id']}/{path}", headers=stranger.headers), 404)
        assert_error(client.get(f"/api/v1/children/{family['child']['id']}/{path}"), 401)


def post(client, family, **fields):
    response = client.post(f"/api/v1/children/{family['child']['id']}/episodes", json=episode_body(**fields),
                           headers=family["owner"].headers)
    assert response.status_code == 201, response.json
    return response.json


def test_red_flags_name_their_evidence_and_since_when(client, family):
    awake = post(client, family, sleep_state="awake", started_at="2026-11-20T10:00:00+01:00")
    kept_on = post(client, family, stopped_when_woken="no", started_at="2026-11-21T03:00:00+01:00")
    signs = post(client, family, signs=["eye_deviation"], started_at="2026-11-22T03:00:00+01:00")
    long = post(client, family, duration_seconds=2400, started_at="2026-11-23T03:00:00+01:00")
    post(client, family, side="left", body_parts=["face"], started_at="2026-11-24T03:00:00+01:00")
    flags = {f["code"]: f for f in trends(client, family["clinician"], family["child"]["id"]).json["red_flags"]}
    assert set(flags) == {"awake_episodes", "not_stopping_on_waking", "warning_signs", "long_episode"}
    assert flags["awake_episodes"]["evidence"] == [awake["id"]]
    assert flags["not_stopping_on_waking"]["evidence"] == [kept_on["id"]]
    assert flags["warning_signs"]["evidence"] == [signs["id"]] and flags["long_episode"]["evidence"] == [long["id"]]
    assert flags["awake_episodes"]["since"] == awake["started_at"]


def test_bnsm_past_six_months_of_corrected_age_is_a_red_flag(client, api):
    owner = api.register()
    child = api.create_child(owner, birth_date=(date.today() - timedelta(days=240)).isoformat(),
                             gestational_weeks=39)
    family = {"owner": owner, "child": child}
    recent = post(client, family, started_at=f"{date.today() - timedelta(days=2)}T03:00:00+01:00")
    flags = {f["code"]: f for f in trends(client, owner, child["id"]).json["red_flags"]}
    assert flags["persists_past_6_months"]["evidence"] == [recent["id"]]


@pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)
def test_a_rising_course_is_worsening_and_flagged(client, older_family):
    owner, child_id = older_family["owner"], older_family["child"]["id"]
    log_course(client, owner, child_id, Course(lambda week: 0.5 * 2 ** (week / 3)))
    body = trends(client, owner, child_id).json
    assert body["verdict"] == "worsening"
    assert "worsening" in [f["code"] for f in body["red_flags"]]


@pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)
def test_the_patient_list_carries_fresh_summaries_after_every_write(client, older_family):
    owner, clinician, child_id = older_family["owner"], older_family["clinician"], older_family["child"]["id"]

    def listed():
        items = client.get("/api/v1/children", headers=clinician.headers).json["items"]
        return {c["id"]: c for c in items}[child_id]["summary"]

    assert listed()["verdict"] == "insufficient_data" and listed()["episodes_total"] == 0
    log_course(client, owner, child_id, resolving(start=6, halving_weeks=3))
    after_sync = listed()
    assert after_sync["verdict"] == "resolving" and after_sync["episodes_total"] > 50
    assert after_sync["rate_recent"] < 1.5 and after_sync["rate_previous"] < 2  # down from 6 a night
    awake = client.post(f"/api/v1/children/{child_id}/episodes", headers=owner.headers, json=episode_body(
        sleep_state="awake", started_at=f"{date.today() - timedelta(days=1)}T10:00:00+01:00"))
    assert "awake_episodes" in listed()["red_flags"]
    client.delete(f"/api/v1/episodes/{awake.json['id']}", headers=owner.headers)
    assert "awake_episodes" not in listed()["red_flags"]


def test_charts_are_images(client, family):
    post(client, family)
    svg = client.get(f"/api/v1/children/{family['child']['id']}/trends/chart.svg", headers=family["owner"].headers)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    png = client.get(f"/api/v1/children/{family['child']['id']}/trends/chart.png", headers=family["owner"].headers)
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_csv_export_holds_episodes_nights_and_weeks(client, family):
    post(client, family, notes="=HYPERLINK(\"http://evil\")")
    client.post(f"/api/v1/children/{family['child']['id']}/sleep-sessions", headers=family["owner"].headers,
                json={"started_at": "2026-11-27T19:30:00+01:00", "ended_at": "2026-11-28T06:30:00+01:00",
                      "kind": "night", "watched": True})
    response = client.get(f"/api/v1/children/{family['child']['id']}/export.csv", headers=family["clinician"].headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    titles = [row[0] for row in rows if len(row) == 1]
    assert titles == ["Episodes", "Sleep sessions", "Weekly series"]
    episode_rows = rows[2:rows.index([])]
    assert len(episode_rows) == 1 and episode_rows[0][rows[1].index("notes")].startswith("'=")


@pytest.mark.parametrize("notes", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", "\n=1+1"])
def test_csv_cells_that_a_spreadsheet_would_run_as_a_formula_are_quoted(client, family, notes):
    post(client, family, notes=notes)
    response = client.get(f"/api/v1/children/{family['child']['id']}/export.csv", headers=family["owner"].headers)
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[2][rows[1].index("notes")] == "'" + notes


def test_the_fhir_export_is_a_valid_r4_bundle(client, family):
    from fhir.resources.R4B.bundle import Bundle

    episode = post(client, family)
    response = client.get(f"/api/v1/children/{family['child']['id']}/export/fhir", headers=family["clinician"].headers)
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    bundle = Bundle.model_validate(json.loads(response.data))
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert kinds.count("Patient") == 1 and kinds.count("RelatedPerson") == 2 and kinds.count("Observation") == 2
    assert episode["id"] in response.get_data(as_text=True)


def test_the_report_is_a_pdf(client, family):
    post(client, family)
    response = client.get(f"/api/v1/children/{family['child']['id']}/report.pdf", headers=family["clinician"].headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
