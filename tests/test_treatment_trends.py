"""Treatments in the trends over HTTP (issue 20 item 3, ../shared/CLINICAL.md "Video, treatments and development"):
each treatment's period on the age axis and the charts; for a medicine, episodes per watched night in the 2 weeks
before its start against the 2 weeks after, in a parent's words, never advice."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from backend.diary.simulation import Course, stable
from tests.sync_helpers import changes, last_night, log_course
from tests.test_treatments import raw_treatment, v2_phone

pytestmark = pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)

BIRTH_WEEKS_AGO = 10


def berlin_today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).date()


def days_ago(days: int) -> str:
    return (berlin_today() - timedelta(days=days)).isoformat()


@pytest.fixture
def child(api):
    owner = api.register()
    child = api.create_child(owner, birth_date=days_ago(7 * BIRTH_WEEKS_AGO))
    clinician = api.register("clinician")
    api.join(owner, child["id"], clinician)
    return {"owner": owner, "clinician": clinician, "id": child["id"]}


def start(client, child, **fields) -> dict:
    body = {"name": "Phenobarbital", "kind": "antiseizure_medication", "dose": "5 mg/kg/day",
            "started_on": days_ago(14), "stopped_on": None, **fields}
    response = client.post(f"/api/v1/children/{child['id']}/treatments", json=body, headers=child["owner"].headers)
    assert response.status_code == 201, response.json
    return response.json


def treatments(client, child, path: str = "trends") -> list[dict]:
    response = client.get(f"/api/v1/children/{child['id']}/{path}", headers=child["clinician"].headers)
    assert response.status_code == 200, response.json
    return response.json["treatments"]


def test_no_change_after_a_medicine_started_reads_no_clear_change_with_both_rates(client, child):
    log_course(client, child["owner"], child["id"], stable(3), weeks=4)
    started = start(client, child)
    [shown] = treatments(client, child)
    assert {key: shown[key] for key in ("id", "name", "kind", "dose", "started_on", "stopped_on")} == {
        key: started[key] for key in ("id", "name", "kind", "dose", "started_on", "stopped_on")}
    assert shown["started_age_weeks"] == BIRTH_WEEKS_AGO - 2 and shown["stopped_age_weeks"] is None
    comparison = shown["comparison"]
    assert comparison["result"] == "no_clear_change", comparison
    before, after = comparison["before"], comparison["after"]
    assert 7 <= before["nights"] <= 14 and 7 <= after["nights"] <= 14
    assert before["rate"] == round(before["episodes"] / before["nights"], 3)
    assert 2 < before["rate"] < 4 and 2 < after["rate"] < 4
    assert comparison["p_value"] > 0.05 and comparison["rate_ratio"] == pytest.approx(after["rate"] / before["rate"],
                                                                                        rel=1e-2)
    assert comparison["summary"] == (
        f"No clear change after Phenobarbital started: {before['rate']:.1f} episodes per watched night in the 2 "
        f"weeks before, {after['rate']:.1f} in the 2 weeks after ({before['nights']} and {after['nights']} watched "
        "nights).")


def test_a_clear_drop_after_a_medicine_started_reads_fewer(client, child):
    log_course(client, child["owner"], child["id"], Course(lambda week: 3 if week < 2 else 0.5, watched_share=1),
               weeks=4)
    changed_on = (last_night() - timedelta(days=13)).isoformat()  # the first night of the course's last 2 weeks
    started = start(client, child, name="Levetiracetam", started_on=changed_on)
    body = client.get(f"/api/v1/children/{child['id']}/trends", headers=child["owner"].headers).json
    comparison = body["treatments"][0]["comparison"]
    assert comparison["result"] == "fewer", comparison
    assert comparison["before"]["nights"] == comparison["after"]["nights"] == 14
    assert comparison["rate_ratio"] < 0.5 and comparison["p_value"] < 0.05
    assert comparison["summary"].startswith("Fewer episodes after Levetiracetam started: ")
    assert not any(word in comparison["summary"].lower() for word in ("work", "stop", "should", "diagnos"))
    assert comparison["summary"] in body["summary"]["caregiver"]
    before, after = comparison["before"]["rate"], comparison["after"]["rate"]
    started_on = format_date(date.fromisoformat(started["started_on"]), "medium", locale="en_GB")  # "20 Nov 2026"
    assert (f"Medicines, 14 days before vs after the start: Levetiracetam ({started_on}) {before:.2f} vs "
            f"{after:.2f}/night") in body["summary"]["clinician"]


def test_a_clear_rise_reads_more(client, child):
    log_course(client, child["owner"], child["id"], Course(lambda week: 0.5 if week < 2 else 3, watched_share=1),
               weeks=4)
    start(client, child, name="Clobazam", kind="other_medication")
    comparison = treatments(client, child)[0]["comparison"]
    assert comparison["result"] == "more" and comparison["summary"].startswith("More episodes after Clobazam started")


def test_too_few_watched_nights_around_the_start_is_insufficient_data(client, child):
    log_course(client, child["owner"], child["id"], Course(lambda week: 3, watched_share=0.25), weeks=4)
    start(client, child)
    comparison = treatments(client, child)[0]["comparison"]
    assert comparison["result"] == "insufficient_data", comparison
    assert min(comparison["before"]["nights"], comparison["after"]["nights"]) < 7
    assert comparison["rate_ratio"] is None and comparison["p_value"] is None
    assert comparison["summary"].startswith("Too few watched nights around the start of Phenobarbital to compare")


def test_a_medicine_started_days_ago_compares_the_days_there_are(client, child):
    log_course(client, child["owner"], child["id"], stable(3), weeks=4)
    start(client, child, started_on=days_ago(9))
    comparison = treatments(client, child)[0]["comparison"]
    assert comparison["before"]["nights"] >= 7 and comparison["after"]["nights"] <= 9
    if comparison["result"] != "insufficient_data":
        assert "in the 9 days after" in comparison["summary"]


def test_a_non_medicine_has_its_period_and_no_comparison(client, child):
    log_course(client, child["owner"], child["id"], stable(3), weeks=4)
    start(client, child, name="Quiet bedroom", kind="sleep_hygiene", dose=None, started_on=days_ago(20),
          stopped_on=days_ago(6))
    body = client.get(f"/api/v1/children/{child['id']}/trends", headers=child["owner"].headers).json
    [shown] = body["treatments"]
    assert shown["comparison"] is None and shown["dose"] is None
    assert "Quiet bedroom" not in body["summary"]["caregiver"] and "Medicines" not in body["summary"]["clinician"]
    assert shown["stopped_on"] == days_ago(6)
    assert shown["stopped_age_weeks"] - shown["started_age_weeks"] == pytest.approx(2, abs=0.01)


def test_treatments_are_on_the_corrected_axis_for_a_preterm_child(client, api):
    owner = api.register()
    preterm = api.create_child(owner, birth_date=days_ago(70), gestational_weeks=33)
    child = {"owner": owner, "clinician": owner, "id": preterm["id"]}
    start(client, child, started_on=days_ago(14))
    [shown] = treatments(client, child)
    assert shown["started_age_weeks"] == 8 - 7  # 8 weeks old at the start, born 7 weeks early
    assert shown["comparison"]["result"] == "insufficient_data"


def test_a_new_or_changed_treatment_shows_at_once_in_a_kept_report(client, child):
    log_course(client, child["owner"], child["id"], stable(3), weeks=4)
    assert treatments(client, child) == []  # the default report is now kept with the child's summary
    started = start(client, child)
    assert [t["id"] for t in treatments(client, child)] == [started["id"]]
    client.patch(f"/api/v1/treatments/{started['id']}", json={"stopped_on": days_ago(3)},
                 headers=child["owner"].headers)
    assert treatments(client, child)[0]["stopped_on"] == days_ago(3)
    client.delete(f"/api/v1/treatments/{started['id']}", headers=child["owner"].headers)
    assert treatments(client, child) == []


def test_a_treatment_pushed_by_a_phone_shows_at_once_in_a_kept_report(client, child):
    log_course(client, child["owner"], child["id"], stable(3), weeks=4)
    assert treatments(client, child) == []
    phone = v2_phone(client, child["owner"], "mumphone1")
    pushed = phone.push(changes(schema_version=2, treatments={"created": [
        raw_treatment("tr1", child["id"], name="Melatonin", kind="supplement", started_on=days_ago(5))]}))
    assert pushed.status_code == 200, pushed.json
    assert [(t["id"], t["name"], t["comparison"]) for t in treatments(client, child)] == [("tr1", "Melatonin", None)]


def test_the_chart_shows_each_treatment_as_a_labelled_band(client, child):
    log_course(client, child["owner"], child["id"], stable(3), weeks=4)
    medicine = start(client, child)
    measure = start(client, child, name="Quiet bedroom", kind="sleep_hygiene", started_on=days_ago(20),
                    stopped_on=days_ago(6))
    svg = client.get(f"/api/v1/children/{child['id']}/trends/chart.svg", headers=child["clinician"].headers).data
    assert f'id="treatment-{medicine["id"]}'.encode() in svg and f'id="treatment-{measure["id"]}'.encode() in svg
    assert b">Phenobarbital<" in svg and b">Quiet bedroom<" in svg
    description = svg[svg.index(b"<desc>"):svg.index(b"</desc>")].decode()
    assert "Phenobarbital" in description and "Quiet bedroom" in description
