"""Treatments, development checks and the development red flags in the exports (issue 20 items 2 and 4): the FHIR
Bundle carries a MedicationStatement per treatment, a survey Observation per check and a Flag per red flag with
flag-detail references to its evidence; the PDF lists treatments and checks, the infantile-spasms pattern first."""
import base64
import re
import zlib
from datetime import date

import pytest
from babel.dates import format_date
from fhir.resources.R4B.bundle import Bundle

from backend.diary.simulation import stable
from backend.trends.exports.fhir import urn
from tests.sync_helpers import log_course
from tests.test_development_red_flags import check, day, episodes

LOCAL = "https://myodiary.example/fhir/CodeSystem/"
FLAG_DETAIL = "http://hl7.org/fhir/StructureDefinition/flag-detail"


def treatment(client, family, **fields) -> dict:
    body = {"name": "Phenobarbital", "kind": "antiseizure_medication", "dose": "5 mg/kg/day",
            "started_on": day(20), "stopped_on": day(5), **fields}
    response = client.post(f"/api/v1/children/{family['child']['id']}/treatments", json=body,
                           headers=family["owner"].headers)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def diary(client, family) -> dict:
    """Two treatments (one deleted after), two checks, the second with lost skills, and three waking episodes."""
    medicine = treatment(client, family)
    routine = treatment(client, family, name="White noise at bedtime", kind="sleep_hygiene", dose=None,
                        started_on=day(15), stopped_on=None)
    gone = treatment(client, family, name="Clobazam", started_on=day(8), stopped_on=None)
    assert client.delete(f"/api/v1/treatments/{gone['id']}", headers=family["owner"].headers).status_code == 204
    fine = check(client, family, day(40))
    lost = client.post(f"/api/v1/children/{family['child']['id']}/development-checks", headers=family[
        "owner"].headers, json={"checked_on": day(10), "new_skills": "no", "lost_skills": "yes",
                                "concerns": ["less_eye_contact", "floppy"]}).json
    waking = episodes(client, family, 12, 9, 3)
    return {"medicine": medicine, "routine": routine, "fine": fine, "lost": lost, "waking": waking}


def fhir(client, family, account: str = "clinician") -> dict:
    response = client.get(f"/api/v1/children/{family['child']['id']}/export/fhir",
                          headers=family[account].headers)
    assert response.status_code == 200, response.json
    Bundle.model_validate(response.json)
    return response.json


def resources(bundle: dict, kind: str) -> list[dict]:
    return [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == kind]


def by_record(bundle: dict, kind: str) -> dict[str, dict]:
    return {r["identifier"][0]["value"]: r for r in resources(bundle, kind) if r.get("identifier")}


def coding(concept: dict) -> tuple[str, str]:
    first = concept["coding"][0]
    return first["system"], first["code"]


def component(observation: dict, code: str) -> list[dict]:
    return [part for part in observation["component"] if part["code"]["coding"][0]["code"] == code]


def shown_day(days_ago: int, length: str = "medium") -> str:
    """A date as the English PDF writes it: '24 Nov 2026' in its tables, '24 November 2026' in sentences."""
    return format_date(date.fromisoformat(day(days_ago)), length, locale="en_GB")


def pdf_text(pdf: bytes) -> str:
    """The strings drawn on the pages: reportlab writes ASCII text as it is, in ASCII85 and Flate encoded streams."""
    drawn = []
    for stream in re.findall(rb"/Filter \[ /ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)endstream", pdf,
                             re.S):
        content = zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>")))
        drawn += re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", content)
    return " ".join(text.decode("latin-1").replace("\\(", "(").replace("\\)", ")") for text in drawn)


def test_each_treatment_is_a_medication_statement_with_its_period_dose_and_kind(client, family, diary):
    bundle = fhir(client, family)
    statements = by_record(bundle, "MedicationStatement")
    assert set(statements) == {diary["medicine"]["id"], diary["routine"]["id"]}  # the deleted one is left out
    medicine, routine = statements[diary["medicine"]["id"]], statements[diary["routine"]["id"]]
    assert medicine["status"] == "completed" and routine["status"] == "active"
    assert medicine["effectivePeriod"] == {"start": day(20), "end": day(5)}
    assert routine["effectivePeriod"] == {"start": day(15)}
    assert medicine["medicationCodeableConcept"]["text"] == "Phenobarbital"
    assert medicine["dosage"] == [{"text": "5 mg/kg/day"}] and "dosage" not in routine
    assert coding(medicine["category"]) == (LOCAL + "treatment-kind", "antiseizure_medication")
    assert coding(routine["category"]) == (LOCAL + "treatment-kind", "sleep_hygiene")
    [patient] = [e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert medicine["subject"] == {"reference": patient}
    assert medicine["informationSource"] == {"reference": urn("user", family["owner"].id)}


def test_each_development_check_is_a_survey_observation_with_local_codes(client, family, diary):
    checks = by_record(fhir(client, family), "Observation")
    fine, lost = checks[diary["fine"]["id"]], checks[diary["lost"]["id"]]
    assert fine["category"][0]["coding"][0]["code"] == "survey"
    assert coding(fine["code"]) == (LOCAL + "development", "development-check")
    assert (fine["effectiveDateTime"], lost["effectiveDateTime"]) == (day(40), day(10))
    answers = {code: [coding(part["valueCodeableConcept"]) for part in component(lost, code)]
               for code in ("new-skills", "lost-skills", "concern")}
    assert answers == {"new-skills": [(LOCAL + "answer", "no")], "lost-skills": [(LOCAL + "answer", "yes")],
                       "concern": [(LOCAL + "development-concern", "less_eye_contact"),
                                   (LOCAL + "development-concern", "floppy")]}
    assert component(fine, "concern") == []
    assert lost["performer"] == [{"reference": urn("user", family["owner"].id)}]


def test_red_flags_are_flags_pointing_at_their_evidence_in_the_bundle(client, family, diary):
    bundle = fhir(client, family, "owner")
    flags = resources(bundle, "Flag")
    assert [flag["code"]["coding"][0]["code"] for flag in flags] == ["spasms_pattern", "lost_skills"]
    pattern, lost = flags
    assert pattern["status"] == "active" and pattern["category"][0]["coding"][0]["code"] == "clinical"
    assert pattern["code"]["coding"][0]["system"] == LOCAL + "red-flag"
    assert pattern["code"]["coding"][0]["display"].startswith("Please contact your doctor soon")
    assert pattern["period"]["start"].startswith(day(10))
    details = [[ext["valueReference"]["reference"] for ext in flag["extension"] if ext["url"] == FLAG_DETAIL]
               for flag in flags]
    assert details == [[urn("development-check", diary["lost"]["id"]), *(urn("episode", e) for e in diary["waking"])],
                       [urn("development-check", diary["lost"]["id"])]]
    assert set(details[0]) <= {entry["fullUrl"] for entry in bundle["entry"]}


def test_the_pdf_lists_treatments_and_checks_with_the_urgent_flag_first(client, family, diary):
    response = client.get(f"/api/v1/children/{family['child']['id']}/report.pdf", headers=family["clinician"].headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert text.index("Treatment Dose From To") < text.index("Date New skills Lost skills Concerns")
    assert f"Development checks: {shown_day(10, 'long')}." in text  # the flags name the checks among their evidence
    for shown in ("Phenobarbital (Anti-seizure medicine)", "5 mg/kg/day", shown_day(20), shown_day(5),
                  "White noise at bedtime (Sleep routine)", "ongoing",
                  "Too few watched nights around the start of Phenobarbital", "Not compared: not a medicine",
                  "less eye contact", "floppy", shown_day(40)):
        assert shown in text, shown
    assert "Clobazam" not in text
    assert text.index("Please contact your doctor soon") < text.index("A development check recorded")


@pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)
def test_the_pdf_gives_a_medicines_before_and_after_sentence_from_the_trends(client, family):
    child_id = family["child"]["id"]
    log_course(client, family["owner"], child_id, stable(3), weeks=4)
    treatment(client, family, started_on=day(14), stopped_on=None)
    trends = client.get(f"/api/v1/children/{child_id}/trends", headers=family["clinician"].headers).json
    [medicine] = trends["treatments"]
    assert medicine["comparison"]["summary"].startswith("No clear change after Phenobarbital started")
    pdf = client.get(f"/api/v1/children/{child_id}/report.pdf", headers=family["owner"].headers)
    assert pdf.status_code == 200
    assert medicine["comparison"]["summary"] in pdf_text(pdf.data)
