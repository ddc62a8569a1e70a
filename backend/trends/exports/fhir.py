"""A child's diary and trend report as an HL7 FHIR R4 (R4B) collection Bundle.

The mapping is ../shared/CLINICAL.md "Interoperability (HL7 FHIR R4)": the child is a Patient, each
caregiver a RelatedPerson, each episode an Observation (SNOMED CT 17450006 Myoclonus) and the trend
report one more Observation derived from the episodes in its window. Each treatment is a MedicationStatement,
non-drug measures (sleep routine, other) too, told apart by a local category for the kind: the phone's "other"
may be a medicine or not, Procedure has no dose and no "ongoing" period of its own, and one resource type with
one shape lets a receiver list everything the child was given in one query. Each development check is an
Observation (category survey, local codes), and each red flag a Flag pointing at its evidence in the bundle with
the flag-detail extension. Entries are addressed by
urn:uuid fullUrls made with uuid5 from the record ids, and the timestamp is the report's, so the same
input gives the same bundle. Every resource is built through the fhir.resources models, so invalid
data raises pydantic.ValidationError.

Languages (issue 22): codes never change, and a Coding's display stays the code system's English (a red flag's
too), but the words a person reads, CodeableConcept.text and the trend's note, are the requester's, and the Bundle
and every resource carry that `language`.
"""
import json
import uuid
from collections.abc import Iterable
from datetime import timedelta
from zoneinfo import ZoneInfo

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.relatedperson import RelatedPerson
from flask import has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _

from backend.diary.vocabulary import ANSWER_WORDS, CONCERN_WORDS, TREATMENT_KIND_WORDS
from backend.i18n import DEFAULT_LOCALE, language_tag
from backend.trends.engine import diary_day

BASE = "https://myodiary.example/fhir"
CODES = f"{BASE}/CodeSystem"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE)
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

MYOCLONUS = {"system": SNOMED, "code": "17450006", "display": "Myoclonus (finding)"}
GENDERS = {"female": "female", "male": "male", "other": "other", None: "unknown"}
SLEEP_SNOMED = {"asleep": ("248220008", "Asleep"), "awake": ("248218005", "Awake")}
STOPPED = {"yes": True, "no": False}
VERDICTS = {"resolved": "Resolved", "resolving": "Resolving", "stable": "Stable", "worsening": "Worsening",
            "insufficient_data": "Insufficient data"}
DIARY = {"system": f"{CODES}/observation-category", "code": "symptom-diary", "display": "Symptom diary"}
SURVEY = {"system": CATEGORY, "code": "survey", "display": "Survey"}
FLAG_CATEGORY = {"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "clinical",
                 "display": "Clinical"}
FLAG_DETAIL = "http://hl7.org/fhir/StructureDefinition/flag-detail"


def fhir_bundle(child, caregivers, episodes, report, treatments: Iterable = (), checks: Iterable = ()) -> dict:
    """The whole export as a JSON-ready dict, validated by the fhir.resources R4B models."""
    people = sorted(caregivers, key=lambda person: person.id)
    events = sorted(episodes, key=lambda episode: (episode.started_at, episode.id))
    given = sorted(treatments, key=lambda treatment: (treatment.started_on, treatment.id))
    checked = sorted(checks, key=lambda check: (check.checked_on, check.id))
    caregiver_ids = {person.id for person in people}
    evidence = {**{check.id: urn("development-check", check.id) for check in checked},
                **{episode.id: urn("episode", episode.id) for episode in events}}
    resources = [_patient(child), *(_related_person(person, child) for person in people),
                 *(_episode(episode, child, caregiver_ids) for episode in events),
                 *(_medication_statement(treatment, child, caregiver_ids) for treatment in given),
                 *(_development_check(check, child, caregiver_ids) for check in checked),
                 _trend(report, child, _in_window(events, report, child)),
                 *(_flag(flag, report, child, evidence) for flag in report.red_flags)]
    language = language_tag()
    for resource in resources:
        resource.language = language
    # Same result as model_dump(mode="json", exclude_none=True), measured 20-60% faster on this bundle.
    return json.loads(_bundle(resources, report, child, language).model_dump_json(exclude_none=True))


def urn(kind: str, record_id: str) -> str:
    """The entry's fullUrl: a uuid5 of the record's kind and id."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{kind}/{record_id}')}"


def _ref(kind: str, record_id: str) -> dict:
    """A Reference to another entry of the bundle."""
    return {"reference": urn(kind, record_id)}


def _identifier(kind: str, record_id: str) -> list[dict]:
    """The Myodiary record id, so a receiver can match updates."""
    return [{"system": f"{BASE}/id/{kind}", "value": str(record_id)}]


def _local(system: str, code: str, display: str | None = None) -> dict:
    """A Coding in one of Myodiary's own code systems."""
    return {"coding": [{"system": f"{CODES}/{system}", "code": code,
                        "display": english(display) if display else code.replace("_", " ").capitalize()}]}


def _component(code: str, display: str, **value) -> dict:
    """An Observation.component with a local code and one value[x] (or dataAbsentReason)."""
    return {"code": _local("observation", code, display), **value}


def _quantity(value, unit: str, code: str) -> dict:
    """A UCUM Quantity."""
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _patient(child) -> Patient:
    """The child as a Patient."""
    extension = [] if child.gestational_weeks is None else [
        {"url": f"{BASE}/StructureDefinition/gestational-age-at-birth",
         "valueQuantity": _quantity(child.gestational_weeks, "wk", "wk")}]
    return Patient(id=_uuid(urn("child", child.id)), identifier=_identifier("child", child.id),
                   name=[{"text": child.name}], gender=GENDERS[child.sex], birthDate=child.birth_date,
                   extension=extension or None)


def _related_person(person, child) -> RelatedPerson:
    """A caregiver as a RelatedPerson of the child."""
    return RelatedPerson(id=_uuid(urn("user", person.id)), identifier=_identifier("user", person.id), active=True,
                         patient=_ref("child", child.id), relationship=[{"text": _("Caregiver")}],
                         name=[{"text": person.name}], telecom=[{"system": "email", "value": person.email}])


def _episode(episode, child, caregiver_ids: set) -> Observation:
    """One logged episode as an Observation of myoclonus."""
    end = episode.started_at + timedelta(seconds=episode.duration_seconds)
    performer = [_ref("user", episode.logged_by)] if episode.logged_by in caregiver_ids else None
    return Observation(
        id=_uuid(urn("episode", episode.id)), identifier=_identifier("episode", episode.id), status="final",
        category=[{"coding": [{"system": CATEGORY, "code": "exam", "display": "Exam"}]}, {"coding": [DIARY]}],
        code={"coding": [MYOCLONUS], "text": _("Myoclonic jerk episode")}, subject=_ref("child", child.id),
        performer=performer, effectivePeriod={"start": episode.started_at, "end": end},
        note=[{"text": episode.notes}] if episode.notes else None, component=_episode_components(episode))


def _episode_components(episode) -> list[dict]:
    """Duration, sleep state, stopped on waking and side."""
    return [_component("duration", "Episode duration", valueQuantity=_quantity(episode.duration_seconds, "s", "s")),
            _component("sleep-state", "Sleep state", valueCodeableConcept=_sleep_state(episode.sleep_state)),
            _stopped(episode.stopped_when_woken),
            _component("side", "Side", valueCodeableConcept=_local("side", episode.side))]


def _sleep_state(state: str) -> dict:
    """SNOMED CT Asleep / Awake; the in-between states in a local code system."""
    if state in SLEEP_SNOMED:
        code, display = SLEEP_SNOMED[state]
        return {"coding": [{"system": SNOMED, "code": code, "display": display}]}
    return _local("sleep-state", state)


def _stopped(answer: str) -> dict:
    """Stopped when woken: a boolean, or data absent (not performed) when waking was not tried."""
    if answer in STOPPED:
        return _component("stopped-on-waking", "Stopped on waking", valueBoolean=STOPPED[answer])
    absent = {"coding": [{"system": ABSENT, "code": "not-performed", "display": "Not Performed"}],
              "text": _("Waking was not tried")}
    return _component("stopped-on-waking", "Stopped on waking", dataAbsentReason=absent)


def _medication_statement(treatment, child, caregiver_ids: set) -> MedicationStatement:
    """A treatment: active while it has no stop date, completed once it has one."""
    period = {"start": treatment.started_on, "end": treatment.stopped_on} if treatment.stopped_on else {
        "start": treatment.started_on}
    source = _ref("user", treatment.logged_by) if treatment.logged_by in caregiver_ids else None
    return MedicationStatement(
        id=_uuid(urn("treatment", treatment.id)), identifier=_identifier("treatment", treatment.id),
        status="completed" if treatment.stopped_on else "active",
        category=_local("treatment-kind", treatment.kind, TREATMENT_KIND_WORDS.get(treatment.kind)),
        medicationCodeableConcept={"text": treatment.name}, subject=_ref("child", child.id),
        effectivePeriod=period, informationSource=source,
        dosage=[{"text": treatment.dose}] if treatment.dose else None,
        note=[{"text": treatment.notes}] if treatment.notes else None)


def _development_check(check, child, caregiver_ids: set) -> Observation:
    """A caregiver's development check as a survey Observation on the check's date."""
    performer = [_ref("user", check.logged_by)] if check.logged_by in caregiver_ids else None
    return Observation(
        id=_uuid(urn("development-check", check.id)), identifier=_identifier("development-check", check.id),
        status="final", category=[{"coding": [SURVEY]}],
        code={**_local("development", "development-check", "Development check"),
              "text": _("Caregiver's development check")},
        subject=_ref("child", child.id), performer=performer, effectiveDateTime=check.checked_on,
        note=[{"text": check.notes}] if check.notes else None, component=_development_components(check))


def _development_components(check) -> list[dict]:
    """New skills and lost skills (yes / no / unsure), then one component per concern."""
    def part(code: str, display: str, value: dict) -> dict:
        return {"code": _local("development", code, display), "valueCodeableConcept": value}
    return [part("new-skills", "New skills since the last check", _local("answer", check.new_skills,
                                                                          ANSWER_WORDS.get(check.new_skills))),
            part("lost-skills", "Lost skills the child had", _local("answer", check.lost_skills,
                                                                   ANSWER_WORDS.get(check.lost_skills))),
            *(part("concern", "Caregiver's concern", _local("development-concern", concern, CONCERN_WORDS.get(concern)))
              for concern in concern_codes(check.concerns))]


def concern_codes(concerns: str | list | None) -> list[str]:
    """A check's concerns, stored as the phone's JSON text."""
    return json.loads(concerns or "[]") if isinstance(concerns, str | None) else list(concerns)


def _flag(flag, report, child, evidence: dict[str, str]) -> Flag:
    """A red flag, with a flag-detail extension for each piece of its evidence that is in the bundle."""
    details = [{"url": FLAG_DETAIL, "valueReference": {"reference": evidence[record_id]}}
               for record_id in flag.evidence if record_id in evidence]
    return Flag(id=_uuid(urn("flag", f"{_trend_key(report, child)}/{flag.code}")), status="active",
                category=[{"coding": [FLAG_CATEGORY]}],
                code={**_local("red-flag", flag.code, english(flag.message)), "text": str(flag.message)},
                subject=_ref("child", child.id), period={"start": flag.since}, extension=details or None)


def _window(report, child) -> tuple | None:
    """The first and last day of the report's weekly series (child-local dates, not past today), or None."""
    if not report.weekly:
        return None
    today = report.generated_at.astimezone(ZoneInfo(child.timezone)).date()
    return report.weekly[0].start, min(report.weekly[-1].start + timedelta(days=6), today)


def _in_window(episodes, report, child) -> list:
    """The episodes whose diary night falls in the report's weeks."""
    window, zone = _window(report, child), ZoneInfo(child.timezone)
    return [] if window is None else [e for e in episodes if window[0] <= diary_day(e.started_at, zone) <= window[1]]


def _trend(report, child, episodes) -> Observation:
    """The trend report as one Observation over its window, derived from the episodes in it."""
    window = _window(report, child)
    return Observation(
        id=_uuid(urn("trend", _trend_key(report, child))), status="final", category=[{"coding": [DIARY]}],
        code={**_local("observation", "myoclonus-trend", "Myoclonus trend"),
              "text": _("Myoclonic episodes per watched night")},
        subject=_ref("child", child.id), issued=report.generated_at,
        effectivePeriod={"start": window[0], "end": window[1]} if window else None,
        derivedFrom=[_ref("episode", episode.id) for episode in episodes] or None,
        note=[{"text": str(report.summary["clinician"])}] if report.summary.get("clinician") else None,
        component=_trend_components(report), **_trend_value(report))


def _trend_value(report) -> dict:
    """Episodes per watched night over the window; data absent when no night was watched."""
    nights = report.totals["watched_nights"]
    if not nights:
        return {"dataAbsentReason": {"coding": [{"system": ABSENT, "code": "unknown", "display": "Unknown"}],
                                     "text": _("No watched nights in the window")}}
    return {"valueQuantity": {"value": round(report.totals["episodes"] / nights, 4), "unit": "/night",
                              "system": UCUM, "code": "{episodes}/{night}"}}


def _trend_key(report, child) -> str:
    """What identifies one trend report: the child and when it was generated."""
    return f"{child.id}/{report.generated_at.isoformat()}"


def _trend_components(report) -> list[dict]:
    """Episodes, watched nights, the rate ratio per 4 weeks with its 95% CI (if modelled), the verdict."""
    parts = [_component("episodes", "Episodes on watched nights", valueInteger=report.totals["episodes"]),
             _component("watched-nights", "Watched nights", valueInteger=report.totals["watched_nights"])]
    if report.model is not None:
        fit = report.model
        parts += [_component("rate-ratio-per-4-weeks", "Rate ratio per 4 weeks of age",
                             valueQuantity=_quantity(round(fit.rate_ratio_per_4_weeks, 4), "ratio", "1")),
                  _component("rate-ratio-per-4-weeks-95ci", "Rate ratio per 4 weeks, 95% confidence interval",
                             valueRange={"low": _quantity(round(fit.ci_low, 4), "ratio", "1"),
                                         "high": _quantity(round(fit.ci_high, 4), "ratio", "1")})]
    code = report.verdict.code
    return parts + [_component("verdict", "Verdict", valueCodeableConcept=_local("verdict", code, VERDICTS.get(code)))]


def english(words) -> str:
    """Words that may be lazy, in English: a Coding's display is the code system's, whoever reads."""
    if not has_app_context():
        return str(words)
    with force_locale(DEFAULT_LOCALE):
        return str(words)


def _bundle(resources, report, child, language: str) -> Bundle:
    """A collection Bundle of the resources, each under its urn:uuid fullUrl."""
    stamp = report.generated_at
    return Bundle(
        id=_uuid(urn("bundle", _trend_key(report, child))), type="collection", timestamp=stamp, language=language,
        identifier={"system": "urn:ietf:rfc:3986", "value": urn("bundle", _trend_key(report, child))},
        meta={"lastUpdated": stamp, "source": BASE, "tag": [{"system": f"{CODES}/export", "code": "diary-export"}]},
        entry=[{"fullUrl": f"urn:uuid:{resource.id}", "resource": resource} for resource in resources])


def _uuid(full_url: str) -> str:
    """The bare uuid of a urn:uuid fullUrl, used as the resource id."""
    return full_url.removeprefix("urn:uuid:")
