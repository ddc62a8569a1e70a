"""The FHIR export, without a database: plain objects in, a valid R4B Bundle out."""
import dataclasses
import json
import random
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from backend.diary.simulation import resolving, simulate
from backend.trends.exports.fhir import fhir_bundle, urn
from backend.trends.facts import ChildFacts, EpisodeFact, SleepFact
from backend.trends.red_flags import RedFlag
from backend.trends.report import build_report

NOW = datetime(2026, 11, 20, tzinfo=UTC)
SNOMED, UCUM = "http://snomed.info/sct", "http://unitsofmeasure.org"
LOCAL = "https://myodiary.example/fhir/CodeSystem/"
EPISODE_FIELDS = ("id", "started_at", "duration_seconds", "sleep_state", "stopped_when_woken", "side", "notes")


def make_child(**changes) -> SimpleNamespace:
    values = {"id": "c1", "name": "Mila", "birth_date": date(2026, 8, 1), "gestational_weeks": 39.0,
              "sex": "female", "timezone": "Europe/Berlin", "condition": "bnsm"}
    return SimpleNamespace(**{**values, **changes})


CAREGIVERS = [SimpleNamespace(id="u1", name="Ana", email="ana@example.org"),
              SimpleNamespace(id="u2", name="Ben", email="ben@example.org")]


def diary(nights: int, child=None, **report_options):
    """Simulated episodes (as plain objects) and the trend report over them."""
    child = child or make_child()
    facts = ChildFacts(child.id, child.name, child.birth_date, child.gestational_weeks, child.timezone,
                       child.condition)
    rows = list(simulate(random.Random(1), child.id, child.timezone, date(2026, 8, 10), nights, resolving(6, 3)))
    values = [v for table, v in rows if table == "episodes"]
    episodes = [SimpleNamespace(**{k: v[k] for k in EPISODE_FIELDS}, logged_by=CAREGIVERS[i % 2].id)
                for i, v in enumerate(values)]
    facts_e = [EpisodeFact(v["id"], v["started_at"], v["duration_seconds"], v["sleep_state"],
                           v["stopped_when_woken"], ()) for v in values]
    sleeps = [SleepFact(v["id"], v["started_at"], v["ended_at"], v["kind"], v["watched"])
              for table, v in rows if table == "sleep_sessions"]
    return episodes, build_report(facts, facts_e, sleeps, NOW, **report_options)


@cache
def example():
    """The 60-night example and its bundle (built once; tests must not change them)."""
    episodes, report = diary(60)
    return episodes, report, fhir_bundle(make_child(), CAREGIVERS, episodes, report)


def resources(bundle: dict, kind: str) -> list[dict]:
    return [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == kind]


def episode_observation(bundle: dict, episode_id: str) -> dict:
    [found] = [r for r in resources(bundle, "Observation")
               if r.get("identifier", [{}])[0].get("value") == episode_id]
    return found


def trend_observation(bundle: dict) -> dict:
    [found] = [r for r in resources(bundle, "Observation") if r["code"]["coding"][0]["code"] == "myoclonus-trend"]
    return found


def component(observation: dict, code: str) -> dict | None:
    found = [c for c in observation.get("component", []) if c["code"]["coding"][0]["code"] == code]
    assert len(found) <= 1
    return found[0] if found else None


def references(node) -> list[str]:
    """Every Reference.reference anywhere in a JSON tree."""
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [ref for value in node.values() for ref in references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in references(value)]
    return []


def single(episode) -> dict:
    """The Observation a bundle of just this episode gives."""
    _, report, _ = example()
    return episode_observation(fhir_bundle(make_child(), CAREGIVERS, [episode], report), episode.id)


def changed(episode, **changes) -> SimpleNamespace:
    return SimpleNamespace(**{**vars(episode), **changes})


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ---- the bundle -----------------------------------------------------------------------------------

def test_bundle_parses_back_as_an_r4b_collection():
    _, report, bundle = example()
    parsed = Bundle.model_validate(json.loads(json.dumps(bundle)))
    assert parsed.type == "collection"
    assert instant(bundle["timestamp"]) == report.generated_at
    assert bundle["meta"]["lastUpdated"] and bundle["resourceType"] == "Bundle"


def test_one_patient_one_related_person_per_caregiver_one_observation_per_episode_plus_trend():
    episodes, _, bundle = example()
    assert len(episodes) > 50
    assert len(resources(bundle, "Patient")) == 1
    assert sorted(p["name"][0]["text"] for p in resources(bundle, "RelatedPerson")) == ["Ana", "Ben"]
    assert len(resources(bundle, "Observation")) == len(episodes) + 1
    assert len(bundle["entry"]) == 1 + len(CAREGIVERS) + len(episodes) + 1


def test_full_urls_are_unique_urn_uuids_matching_the_resource_ids():
    _, _, bundle = example()
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    for entry in bundle["entry"]:
        assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                            entry["fullUrl"])
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"


def test_every_reference_resolves_inside_the_bundle():
    _, _, bundle = example()
    urls = {entry["fullUrl"] for entry in bundle["entry"]}
    [patient] = [e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    carers = {e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RelatedPerson"}
    refs = references(bundle)
    assert refs and set(refs) <= urls
    for person in resources(bundle, "RelatedPerson"):
        assert person["patient"]["reference"] == patient
    for observation in resources(bundle, "Observation"):
        assert observation["subject"]["reference"] == patient
        assert {p["reference"] for p in observation.get("performer", [])} <= carers
    assert {ref["reference"] for ref in trend_observation(bundle)["derivedFrom"]} <= urls


# ---- the Patient and RelatedPersons ---------------------------------------------------------------

@pytest.mark.parametrize(("sex", "gender"), [("female", "female"), ("male", "male"), ("other", "other"),
                                             (None, "unknown")])
def test_patient_gender(sex, gender):
    _, report, _ = example()
    [patient] = resources(fhir_bundle(make_child(sex=sex), CAREGIVERS, [], report), "Patient")
    assert patient["gender"] == gender


def test_patient_name_birth_date_and_gestational_age():
    _, report, bundle = example()
    [patient] = resources(bundle, "Patient")
    assert patient["name"] == [{"text": "Mila"}] and patient["birthDate"] == "2026-08-01"
    assert patient["extension"][0]["valueQuantity"]["value"] == 39.0
    [unknown] = resources(fhir_bundle(make_child(gestational_weeks=None), CAREGIVERS, [], report), "Patient")
    assert "extension" not in unknown


def test_related_person_has_the_caregivers_email():
    _, _, bundle = example()
    ana = next(p for p in resources(bundle, "RelatedPerson") if p["name"][0]["text"] == "Ana")
    assert ana["telecom"] == [{"system": "email", "value": "ana@example.org"}]
    assert ana["relationship"]


# ---- an episode -----------------------------------------------------------------------------------

def test_episode_observation_codes_period_and_duration():
    episodes, _, bundle = example()
    episode = episodes[7]
    observation = episode_observation(bundle, episode.id)
    assert observation["status"] == "final"
    assert {"system": SNOMED, "code": "17450006", "display": "Myoclonus (finding)"} in observation["code"]["coding"]
    assert observation["code"]["text"] == "Myoclonic jerk episode"
    assert instant(observation["effectivePeriod"]["start"]) == episode.started_at
    assert instant(observation["effectivePeriod"]["end"]) == episode.started_at + timedelta(
        seconds=episode.duration_seconds)
    quantity = component(observation, "duration")["valueQuantity"]
    assert quantity == {"value": episode.duration_seconds, "unit": "s", "system": UCUM, "code": "s"}
    side = component(observation, "side")["valueCodeableConcept"]["coding"][0]
    assert (side["system"], side["code"]) == (LOCAL + "side", episode.side)


def test_performer_is_the_caregiver_who_logged_it():
    episodes, _, bundle = example()
    for episode in episodes[:4]:
        observation = episode_observation(bundle, episode.id)
        assert observation["performer"] == [{"reference": urn("user", episode.logged_by)}]


def test_performer_left_out_when_the_logger_is_not_a_caregiver():
    episodes, _, _ = example()
    assert "performer" not in single(changed(episodes[0], logged_by="someone-else"))


@pytest.mark.parametrize(("state", "system", "code"), [
    ("asleep", SNOMED, "248220008"), ("awake", SNOMED, "248218005"),
    ("falling_asleep", LOCAL + "sleep-state", "falling_asleep"), ("waking", LOCAL + "sleep-state", "waking"),
    ("unknown", LOCAL + "sleep-state", "unknown")])
def test_sleep_state(state, system, code):
    episodes, _, _ = example()
    observation = single(changed(episodes[0], sleep_state=state))
    coding = component(observation, "sleep-state")["valueCodeableConcept"]["coding"][0]
    assert (coding["system"], coding["code"]) == (system, code)


@pytest.mark.parametrize(("answer", "value"), [("yes", True), ("no", False)])
def test_stopped_on_waking_is_a_boolean(answer, value):
    episodes, _, _ = example()
    part = component(single(changed(episodes[0], stopped_when_woken=answer)), "stopped-on-waking")
    assert part["valueBoolean"] is value


def test_stopped_on_waking_not_tried_is_data_absent():
    episodes, _, _ = example()
    part = component(single(changed(episodes[0], stopped_when_woken="not_tried")), "stopped-on-waking")
    assert "valueBoolean" not in part
    assert part["dataAbsentReason"]["coding"][0]["code"] == "not-performed"


def test_notes_go_into_observation_note():
    episodes, _, _ = example()
    assert single(changed(episodes[0], notes="after a feed"))["note"] == [{"text": "after a feed"}]
    assert "note" not in single(changed(episodes[0], notes=None))


# ---- the trend ------------------------------------------------------------------------------------

def test_trend_observation_value_counts_and_period():
    _, report, bundle = example()
    trend = trend_observation(bundle)
    assert trend["code"]["text"] == "Myoclonic episodes per watched night"
    episodes, nights = report.totals["episodes"], report.totals["watched_nights"]
    assert nights > 0
    assert trend["valueQuantity"]["value"] == pytest.approx(episodes / nights, abs=1e-4)
    assert component(trend, "episodes")["valueInteger"] == episodes
    assert component(trend, "watched-nights")["valueInteger"] == nights
    assert trend["effectivePeriod"]["start"] == report.weekly[0].start.isoformat()
    assert date.fromisoformat(trend["effectivePeriod"]["end"]) >= report.weekly[-1].start


def test_trend_verdict_rate_ratio_and_confidence_interval():
    _, report, bundle = example()
    trend = trend_observation(bundle)
    verdict = component(trend, "verdict")["valueCodeableConcept"]["coding"][0]
    assert (verdict["system"], verdict["code"]) == (LOCAL + "verdict", report.verdict.code)
    assert report.model is not None
    ratio = component(trend, "rate-ratio-per-4-weeks")["valueQuantity"]["value"]
    assert ratio == pytest.approx(report.model.rate_ratio_per_4_weeks, abs=1e-4)
    interval = component(trend, "rate-ratio-per-4-weeks-95ci")["valueRange"]
    assert interval["low"]["value"] == pytest.approx(report.model.ci_low, abs=1e-4)
    assert interval["high"]["value"] == pytest.approx(report.model.ci_high, abs=1e-4)
    assert interval["low"]["value"] < ratio < interval["high"]["value"]


def test_trend_is_derived_from_the_episodes_in_its_window():
    episodes, _, bundle = example()
    derived = {ref["reference"] for ref in trend_observation(bundle)["derivedFrom"]}
    assert derived == {urn("episode", episode.id) for episode in episodes}


def test_trend_over_a_shorter_window_leaves_earlier_episodes_out_of_derived_from():
    episodes, report = diary(60, weeks=9)
    bundle = fhir_bundle(make_child(), CAREGIVERS, episodes, report)
    first = datetime.combine(report.weekly[0].start, time(12), ZoneInfo("Europe/Berlin"))
    inside = {urn("episode", episode.id) for episode in episodes if episode.started_at >= first}
    assert 0 < len(inside) < len(episodes)
    assert {ref["reference"] for ref in trend_observation(bundle)["derivedFrom"]} == inside
    assert len(resources(bundle, "Observation")) == len(episodes) + 1


def test_no_rate_ratio_without_a_model():
    episodes, report = diary(5)
    assert report.model is None
    trend = trend_observation(fhir_bundle(make_child(), CAREGIVERS, episodes, report))
    assert component(trend, "rate-ratio-per-4-weeks") is None
    assert component(trend, "rate-ratio-per-4-weeks-95ci") is None
    assert component(trend, "verdict")["valueCodeableConcept"]["coding"][0]["code"] == report.verdict.code


# ---- determinism, empty diaries, invalid data -----------------------------------------------------

def test_same_input_gives_the_same_bundle_whatever_the_order():
    episodes, report, bundle = example()
    shuffled = random.Random(2).sample(episodes, len(episodes))
    again = fhir_bundle(make_child(), list(reversed(CAREGIVERS)), shuffled, report)
    assert json.dumps(again, sort_keys=True) == json.dumps(bundle, sort_keys=True)


def test_ids_depend_on_the_record_ids():
    episodes, report, bundle = example()
    other = fhir_bundle(make_child(id="c2"), CAREGIVERS, episodes, report)
    assert resources(other, "Patient")[0]["id"] != resources(bundle, "Patient")[0]["id"]
    assert episode_observation(other, episodes[0].id)["id"] == episode_observation(bundle, episodes[0].id)["id"]


def test_a_child_with_no_episodes_still_gives_a_valid_bundle():
    facts = ChildFacts("c3", "Noa", date(2026, 10, 1), None, "Europe/Berlin", "bnsm")
    report = build_report(facts, [], [], NOW)
    bundle = fhir_bundle(make_child(id="c3", name="Noa", gestational_weeks=None), CAREGIVERS[:1], [], report)
    Bundle.model_validate(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient", "RelatedPerson", "Observation"]
    trend = trend_observation(bundle)
    assert "derivedFrom" not in trend and "valueQuantity" not in trend
    assert trend["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    assert component(trend, "verdict")["valueCodeableConcept"]["coding"][0]["code"] == "insufficient_data"


def test_invalid_data_raises():
    _, report, _ = example()
    with pytest.raises(ValidationError):
        fhir_bundle(make_child(birth_date="2026-13-45"), CAREGIVERS, [], report)


# ---- treatments, development checks, red flags ----------------------------------------------------

TREATMENTS = [SimpleNamespace(id="t1", name="Phenobarbital", kind="antiseizure_medication", dose="5 mg/kg/day",
                              started_on=date(2026, 9, 1), stopped_on=date(2026, 9, 20), notes=None, logged_by="u1"),
              SimpleNamespace(id="t2", name="Melatonin", kind="supplement", dose=None, started_on=date(2026, 9, 10),
                              stopped_on=None, notes="at bedtime", logged_by="someone-else")]
CHECKS = [SimpleNamespace(id="d1", checked_on=date(2026, 9, 5), new_skills="yes", lost_skills="no", concerns="[]",
                          notes=None, logged_by="u2"),
          SimpleNamespace(id="d2", checked_on=date(2026, 10, 5), new_skills="unsure", lost_skills="yes",
                          concerns='["stiff"]', notes=None, logged_by="u1")]


def flagged(*flags: RedFlag):
    """The example's report with these red flags instead of its own."""
    _, report, _ = example()
    return dataclasses.replace(report, red_flags=list(flags))


def test_treatments_checks_and_flags_in_any_order_give_the_same_valid_bundle():
    episodes, _, _ = example()
    report = flagged(RedFlag("lost_skills", "Lost skills.", ["d2"], datetime(2026, 10, 5, tzinfo=UTC)))
    bundle = fhir_bundle(make_child(), CAREGIVERS, episodes, report, TREATMENTS, CHECKS)
    Bundle.model_validate(bundle)
    again = fhir_bundle(make_child(), CAREGIVERS, episodes, report, TREATMENTS[::-1], CHECKS[::-1])
    assert json.dumps(again, sort_keys=True) == json.dumps(bundle, sort_keys=True)
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds[-6:] == ["MedicationStatement", "MedicationStatement", "Observation", "Observation", "Observation",
                          "Flag"]


def test_a_treatment_logged_by_someone_not_in_the_bundle_has_no_information_source():
    _, report, _ = example()
    statements = resources(fhir_bundle(make_child(), CAREGIVERS, [], report, TREATMENTS), "MedicationStatement")
    assert statements[0]["informationSource"] == {"reference": urn("user", "u1")}
    assert "informationSource" not in statements[1] and statements[1]["note"] == [{"text": "at bedtime"}]


def test_flag_detail_references_only_evidence_in_the_bundle():
    episodes, _, _ = example()
    report = flagged(RedFlag("abnormal_eeg", "A clinician recorded an abnormal EEG.", ["note-1"], NOW),
                     RedFlag("awake_episodes", "Awake.", [episodes[3].id, "deleted-episode"], episodes[3].started_at))
    eeg, awake = resources(fhir_bundle(make_child(), CAREGIVERS, episodes, report, [], CHECKS), "Flag")
    assert "extension" not in eeg
    assert awake["extension"] == [{"url": "http://hl7.org/fhir/StructureDefinition/flag-detail",
                                   "valueReference": {"reference": urn("episode", episodes[3].id)}}]
    assert instant(awake["period"]["start"]) == episodes[3].started_at
