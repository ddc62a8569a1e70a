"""The trends in the reader's language (issue 22 item 3): verdict reasons, red-flag messages, summaries, treatment
comparisons and reference ages in Spanish and German, numbers in the reader's format, every code and key unchanged;
the report kept with the summary once per language (the fast path) and a live one (?weeks=) both translated."""
import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from flask_migrate import downgrade, upgrade

from backend import create_app
from backend.children.models import Child
from backend.db_types import utcnow
from backend.diary.simulation import resolving
from backend.extensions import db
from backend.i18n import locales
from backend.trends.loading import todays_report
from tests.helpers import PASSWORD, ApiHelper, config_for, episode_body, run_sql
from tests.pseudo_locale import PSEUDO, english_leaks, english_vocabulary
from tests.sync_helpers import log_course

pytestmark = pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)

MEDICINE = "Levetirazetam"
PRE_LANGUAGES_REVISION = "86d65a26dd22"  # the revision before the kept reports were kept per language
NBSP = "\u00a0"  # between a number and % in Spanish and German (CLDR)


def register(client, role: str, email: str, language: str | None = None) -> dict:
    """An account registered from a client that asks for `language` (Accept-Language): its locale."""
    headers = {"Accept-Language": language} if language else {}
    response = client.post("/api/v1/users", json={"email": email, "password": PASSWORD, "name": "Ilka", "role": role},
                           headers=headers)
    assert response.status_code == 201, response.json
    run_sql(client.application, "UPDATE users SET email_verified_at = created_at WHERE id = :id",
            id=response.json["id"])
    token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).json["token"]
    return {"Authorization": f"Bearer {token}"}


def day(days_ago: int) -> str:
    return (date.today() - timedelta(days=days_ago)).isoformat()


@pytest.fixture
def diary(client, api):
    """A 16-week-old child with a resolving course, a medicine started 2 weeks ago, lost skills at a check 10 days
    ago with 3 episodes on waking around it (spasms_pattern, lost_skills), and an episode while awake."""
    owner = api.register()
    child = api.create_child(owner, name="Zoë Ŋ", birth_date=day(16 * 7))
    base = f"/api/v1/children/{child['id']}"
    log_course(client, owner, child["id"], resolving(start=6, halving_weeks=3))
    assert client.post(f"{base}/treatments", headers=owner.headers, json={
        "name": MEDICINE, "kind": "antiseizure_medication", "dose": "10 mg/kg", "started_on": day(14),
        "stopped_on": None}).status_code == 201
    assert client.post(f"{base}/development-checks", headers=owner.headers, json={
        "checked_on": day(10), "new_skills": "no", "lost_skills": "yes", "concerns": []}).status_code == 201
    for ago, state in ((12, "waking"), (8, "waking"), (5, "waking"), (3, "awake")):
        assert client.post(f"{base}/episodes", headers=owner.headers, json=episode_body(
            sleep_state=state, started_at=f"{day(ago)}T05:30:00+01:00")).status_code == 201
    return {"owner": owner, "child": child, "api": api}


def join(diary, headers: dict) -> None:
    api, owner, child_id = diary["api"], diary["owner"], diary["child"]["id"]
    code = api.invite(owner, child_id, "clinician")
    assert api.client.post(f"/api/v1/invites/{code}/accept", headers=headers).status_code == 200


def trends(client, diary, headers: dict, **query):
    response = client.get(f"/api/v1/children/{diary['child']['id']}/trends", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response


def words(body: dict) -> list[str]:
    """Every field of the trends JSON written in words."""
    return [*body["verdict_reasons"], *(flag["message"] for flag in body["red_flags"]),
            *(point["label"] for point in body["reference_points"]), *body["summary"].values(),
            *(period["comparison"]["summary"] for period in body["treatments"] if period["comparison"])]


def without_words(body: dict) -> dict:
    """The trends JSON with its words taken out: what no language may change (codes, keys, numbers, ids)."""
    return {**body, "verdict_reasons": len(body["verdict_reasons"]), "summary": sorted(body["summary"]),
            "red_flags": [{**flag, "message": None} for flag in body["red_flags"]],
            "reference_points": [{**point, "label": None} for point in body["reference_points"]],
            "treatments": [{**period, "comparison": period["comparison"] and {**period["comparison"], "summary": None}}
                           for period in body["treatments"]]}


def flag_messages(body: dict) -> dict[str, str]:
    return {flag["code"]: flag["message"] for flag in body["red_flags"]}


def comparison_summary(body: dict) -> str:
    (summary,) = [period["comparison"]["summary"] for period in body["treatments"] if period["comparison"]]
    return summary


def assert_spanish(body: dict) -> None:
    assert re.match(rf"Razón de tasas por 4 semanas \d+,\d\d \(IC del 95{NBSP}%: \d+,\d\d-\d+,\d\d\): ",
                    body["verdict_reasons"][0]), body["verdict_reasons"]
    messages = flag_messages(body)
    assert list(messages) == ["spasms_pattern", "awake_episodes", "lost_skills"]
    assert messages["awake_episodes"] == ("Hubo episodios mientras el bebé estaba despierto; las mioclonías benignas "
                                          "del sueño solo aparecen durante el sueño.")
    assert messages["lost_skills"] == ("En un control del desarrollo se anotó que el bebé ha perdido habilidades que "
                                       "ya tenía.")
    assert messages["spasms_pattern"].startswith("Por favor, contacte pronto con su médico:")
    assert [point["label"] for point in body["reference_points"]] == ["3 meses", "6 meses"]
    assert re.match(rf"(Menos episodios|Más episodios|Ningún cambio claro) desde el inicio de {MEDICINE}: \d+,\d "
                    r"episodios por noche observada en las 2 semanas anteriores, \d+,\d en las 2 semanas posteriores "
                    r"\(\d+ y \d+ noches observadas\)\.", comparison_summary(body))
    caregiver, clinician = body["summary"]["caregiver"], body["summary"]["clinician"]
    assert caregiver.startswith(messages["spasms_pattern"]) and comparison_summary(body) in caregiver
    assert "Conviene enseñar algunas anotaciones a su médico: Hubo episodios" in caregiver
    assert caregiver.endswith("o si duran más de 30 minutos.")
    assert re.search(r"episodios por noche observada en las últimas 3 semanas, ", caregiver)
    assert clinician.startswith("Valoración: ") and "RR por 4 semanas " in clinician
    assert re.search(r"Señales de alarma: spasms_pattern \(1 control del desarrollo, \d+ episodios\), awake_episodes "
                     r"\(\d+\), lost_skills \(1 control del desarrollo\)\.", clinician)
    assert not any(re.search(r"\d\.\d", text) for text in words(body)), "decimals with a comma in Spanish"


def assert_german(body: dict) -> None:
    assert re.match(rf"Ratenverhältnis pro 4 Wochen \d+,\d\d \(95{NBSP}%-KI \d+,\d\d–\d+,\d\d\): ",
                    body["verdict_reasons"][0]), body["verdict_reasons"]
    messages = flag_messages(body)
    assert messages["awake_episodes"] == ("Es gab Episoden, während das Kind wach war; benigner Schlafmyoklonus tritt "
                                          "nur im Schlaf auf.")
    assert messages["spasms_pattern"].startswith("Bitte wenden Sie sich bald an Ihre Ärztin oder Ihren Arzt:")
    assert [point["label"] for point in body["reference_points"]] == ["3 Monate", "6 Monate"]
    assert re.match(rf"(Weniger Episoden|Mehr Episoden|Keine klare Veränderung) seit dem Beginn von {MEDICINE}: "
                    r"\d+,\d Episoden pro beobachteter Nacht in den 2 Wochen davor, \d+,\d in den 2 Wochen danach",
                    comparison_summary(body))
    caregiver, clinician = body["summary"]["caregiver"], body["summary"]["clinician"]
    assert "Diese Zusammenfassung Ihres Tagebuchs ist keine Diagnose." in caregiver
    assert clinician.startswith("Einschätzung: ")
    assert "Warnsignale: spasms_pattern (1 Entwicklungskontrolle, " in clinician


def test_spanish_and_german_readers_get_the_kept_report_and_a_live_one_in_their_language(app, client, diary):
    es = register(client, "clinician", "ana@example.org", language="es-ES,es;q=0.9")  # registered from a Spanish phone
    de = register(client, "clinician", "jonas@example.org")
    assert client.patch("/api/v1/me", json={"locale": "de"}, headers=de).json["locale"] == "de"
    join(diary, es), join(diary, de)

    english = trends(client, diary, diary["owner"].headers).json
    spanish, german = trends(client, diary, es), trends(client, diary, de)
    assert english["verdict_reasons"][0].startswith("Rate ratio per 4 weeks ")
    assert_spanish(spanish.json), assert_german(german.json)
    assert without_words(spanish.json) == without_words(german.json) == without_words(english)
    assert english["summary"]["caregiver"].startswith("Please contact your doctor soon")

    kept = run_sql(app, "SELECT locale FROM child_summary_reports WHERE child_id = :id", id=diary["child"]["id"])
    with app.app_context():
        assert sorted(kept.scalars()) == sorted(locales())  # built once, kept in every language
    assert trends(client, diary, es).data == spanish.data and trends(client, diary, de).data == german.data

    live = trends(client, diary, es, weeks=103).json  # recomputed for this request, in the reader's language
    assert_spanish(live)
    assert {**without_words(live), "generated_at": None} == {**without_words(spanish.json), "generated_at": None}
    assert_german(trends(client, diary, de, weeks=103).json)


def test_a_language_change_of_the_account_changes_the_next_read(client, diary):
    reader = register(client, "clinician", "ben@example.org", language="es")
    join(diary, reader)
    assert_spanish(trends(client, diary, reader).json)
    assert client.patch("/api/v1/me", json={"locale": "de"}, headers=reader).status_code == 200
    assert_german(trends(client, diary, reader).json)
    assert client.patch("/api/v1/me", json={"locale": "en"}, headers=reader).status_code == 200
    assert trends(client, diary, reader).data == trends(client, diary, diary["owner"].headers).data


def test_an_account_in_a_language_no_longer_offered_reads_its_accept_language(app, client, diary):
    reader = register(client, "clinician", "cy@example.org")
    join(diary, reader)
    run_sql(app, "UPDATE users SET locale = 'fr' WHERE email = 'cy@example.org'")
    assert_german(trends(client, diary, {**reader, "Accept-Language": "de-AT,de;q=0.9,en;q=0.8"}).json)
    english = trends(client, diary, reader).json
    assert english["reference_points"][0]["label"] == "3 months"


def test_todays_report_is_the_kept_one_in_the_current_locale(app, client, diary):
    """What the reminder emails read, inside force_locale(recipient's locale)."""
    trends(client, diary, diary["owner"].headers)  # its first reader keeps today's report
    with app.app_context():
        child = db.session.get(Child, diary["child"]["id"])
        with force_locale("es"):
            spanish = todays_report(child, utcnow())
        with force_locale("de"):
            german = todays_report(child, utcnow())
    assert spanish.verdict.code == german.verdict.code
    assert spanish.reference_points[0].label == "3 meses" and german.reference_points[0].label == "3 Monate"
    assert german.summary["caregiver"].startswith("Bitte wenden Sie sich bald")
    assert spanish.treatments[0].comparison.summary.split(":")[0].endswith(f"desde el inicio de {MEDICINE}")


@pytest.mark.pseudo_locale
def test_no_word_of_the_trends_is_left_in_english(client, diary):
    reader = register(client, "clinician", "dora@example.org", language=PSEUDO)
    join(diary, reader)
    vocabulary = english_vocabulary()
    for body in (trends(client, diary, reader).json, trends(client, diary, reader, weeks=103).json):
        assert len(body["red_flags"]) == 3 and body["treatments"] and body["model"] is not None
        codes = {word for flag in body["red_flags"] for word in flag["code"].split("_")}  # the clinician's list
        for text_ in words(body):
            assert text_.startswith("⟦") or text_[0].isdigit(), text_
            assert english_leaks(text_, vocabulary, also_allowed={MEDICINE, *codes}) == [], text_
        assert "," in body["verdict_reasons"][0]  # Greek numbers: 0,62


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return request.getfixturevalue("scratch_database")()


def test_reports_kept_before_languages_are_rebuilt_in_every_language(empty_database_url, tmp_path):
    """The migration drops the English-only reports and marks their summaries stale: the next reader rebuilds them
    in every language."""
    app = create_app(config_for(empty_database_url, INSTANCE_DIR=str(tmp_path)))
    with app.app_context():
        upgrade()  # the API runs on the schema it was written for; the old report is put back below
    client = app.test_client()
    api = ApiHelper(client)
    owner = api.register()
    child = api.create_child(owner)
    path = f"/api/v1/children/{child['id']}/trends"
    assert client.get(path, headers=owner.headers).status_code == 200
    with app.app_context():
        downgrade(revision=PRE_LANGUAGES_REVISION)
    run_sql(app, "UPDATE child_summaries SET stale = :no, report_json = :old", no=False, old='{"old": true}')
    with app.app_context():
        upgrade()
    stale = run_sql(app, "SELECT stale FROM child_summaries WHERE child_id = :id", id=child["id"]).scalar()
    assert client.patch("/api/v1/me", json={"locale": "es"}, headers=owner.headers).status_code == 200
    body = client.get(path, headers=owner.headers).json
    kept = run_sql(app, "SELECT count(*) FROM child_summary_reports WHERE child_id = :id", id=child["id"]).scalar()
    with app.app_context():
        db.engine.dispose()
    assert stale in (True, 1)
    assert body["verdict"] == "insufficient_data" and body["verdict_reasons"][0].startswith("0 semanas con al menos")
    assert kept == len(locales())
