"""Validation messages in the reader's language (issue 22): marshmallow's own and the project's rules follow
Accept-Language, or a signed-in account's locale; the field names and `code` never change."""
from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import class_registry

from backend.accounts.models import User
from backend.extensions import db
from backend.validation import Translated
from tests.helpers import PASSWORD, assert_error

NEW_USER = {"email": "not an address", "password": PASSWORD, "name": "Ilka " * 20, "role": "nurse", "age": 3}
NEW_CHILD = {"name": "Zoë Ŋ", "birth_date": "2026-10-01", "timezone": "Europe/Berlin"}
FUTURE = (datetime.now(UTC) + timedelta(days=3)).isoformat()


def speaks(app, account, locale: str) -> None:
    with app.app_context():
        db.session.get(User, account.id).locale = locale
        db.session.commit()


@pytest.mark.parametrize("language, expected", [
    ("de-DE,de;q=0.9", {"email": ["Keine gültige E-Mail-Adresse."],
                        "name": ["Die Länge muss zwischen 1 und 80 liegen."],
                        "role": ["Muss einer dieser Werte sein: caregiver, clinician."],
                        "age": ["Unbekanntes Feld."]}),
    ("es", {"email": ["No es una dirección de correo electrónico válida."],
            "name": ["La longitud debe estar entre 1 y 80."],
            "role": ["Debe ser uno de estos valores: caregiver, clinician."],
            "age": ["Campo desconocido."]}),
    ("fr", {"email": ["Not a valid email address."], "name": ["Length must be between 1 and 80."],
            "role": ["Must be one of: caregiver, clinician."], "age": ["Unknown field."]}),
])
def test_a_registration_is_refused_field_by_field_in_the_callers_language(client, language, expected):
    refused = client.post("/api/v1/users", json=NEW_USER, headers={"Accept-Language": language})
    assert assert_error(refused, 422)["errors"] == expected


def test_missing_fields_and_the_password_rules_in_german(client):
    refused = client.post("/api/v1/users", json={"password": "kurz"}, headers={"Accept-Language": "de"})
    errors = assert_error(refused, 422)["errors"]
    assert errors == {"email": ["Diese Angabe ist erforderlich."], "name": ["Diese Angabe ist erforderlich."],
                      "role": ["Diese Angabe ist erforderlich."],
                      "password": ["Verwenden Sie mindestens 8 Zeichen (und höchstens 256)."]}
    common = client.post("/api/v1/users", json={"email": "anna@example.org", "password": "password1",
                                                "name": "Anna", "role": "caregiver"}, headers={"Accept-Language": "de"})
    assert assert_error(common, 422)["errors"]["password"] == [
        "Dies ist eines der häufigsten Passwörter; wählen Sie eines, das schwerer zu erraten ist."]


def test_a_german_account_reads_types_ranges_and_the_childs_own_rules_in_german(app, api, client):
    owner = api.register()
    speaks(app, owner, "de")
    body = {**NEW_CHILD, "birth_date": "2999-01-01", "gestational_weeks": 50, "timezone": "Mars/Olympus",
            "sex": 7, "name": "Zoë\nŊ"}
    refused = client.post("/api/v1/children", json=body, headers=owner.headers)  # no Accept-Language: her own
    body = assert_error(refused, 422)
    assert body["message"].startswith("Die Anfrage ist ungültig")
    assert body["errors"] == {
        "birth_date": ["Das Geburtsdatum liegt in der Zukunft."],
        "gestational_weeks": ["Muss zwischen 22 und 44 liegen (beide eingeschlossen)."],
        "timezone": ["Keine bekannte IANA-Zeitzone, z. B. Europe/Berlin."],
        "sex": ["Kein gültiger Text."],
        "name": ["Namen stehen in einer Zeile: ohne Zeilenumbrüche, Tabulatoren oder andere Steuerzeichen."]}
    wrong_types = client.post("/api/v1/children", json={**NEW_CHILD, "gestational_weeks": "viele",
                                                        "birth_date": "gestern"}, headers=owner.headers)
    assert assert_error(wrong_types, 422)["errors"] == {"gestational_weeks": ["Keine gültige Zahl."],
                                                        "birth_date": ["Kein gültiges Datum."]}


def test_a_spanish_account_reads_the_diarys_rules_in_spanish_whatever_its_browser_says(app, api, client):
    owner = api.register()
    child = api.create_child(owner, name="Zoë Ŋ")
    speaks(app, owner, "es")
    episode = {"started_at": FUTURE, "duration_seconds": -1, "timezone": "Europe/Madrid", "sleep_state": "dreaming",
               "jerk_count": "muchos"}
    refused = client.post(f"/api/v1/children/{child['id']}/episodes", json=episode,
                          headers={**owner.headers, "Accept-Language": "de"})
    assert assert_error(refused, 422)["errors"] == {
        "duration_seconds": ["Debe ser mayor o igual que 0 y menor o igual que 21.600."],
        "sleep_state": ["Debe ser uno de estos valores: asleep, falling_asleep, waking, awake, unknown."],
        "jerk_count": ["No es un número entero válido."]}
    future = client.post(f"/api/v1/children/{child['id']}/episodes", headers=owner.headers, json={
        "started_at": FUTURE, "duration_seconds": 5, "timezone": "Europe/Madrid", "sleep_state": "asleep"})
    assert assert_error(future, 422)["errors"] == {"started_at": ["Está en el futuro."]}
    night = {"started_at": "2026-11-02T21:00:00+01:00", "ended_at": "2026-11-02T20:00:00+01:00", "kind": "night",
             "watched": "quizá"}
    refused = client.post(f"/api/v1/children/{child['id']}/sleep-sessions", json=night, headers=owner.headers)
    assert assert_error(refused, 422)["errors"] == {"watched": ["No es un valor booleano válido (true o false)."]}
    refused = client.post(f"/api/v1/children/{child['id']}/sleep-sessions", json={**night, "watched": True},
                          headers=owner.headers)
    assert assert_error(refused, 422)["errors"] == {"ended_at": ["Es anterior a started_at."]}


def test_english_stays_as_it_was(client):
    refused = client.post("/api/v1/users", json={"email": "ana@example.org", "password": "1234567", "name": " ",
                                                 "role": "caregiver"})
    assert assert_error(refused, 422)["errors"] == {"password": ["Use at least 8 characters (and at most 256)."],
                                                    "name": ["Must not be blank."]}


def test_every_schema_of_the_api_carries_messages_in_the_readers_language(app):
    """marshmallow copies a field's messages when the field is made: a schema defined before backend.validation
    was imported would answer in English whatever the reader."""
    english = []
    for name, classes in class_registry._registry.items():
        if not name.startswith(("backend.accounts", "backend.children", "backend.care_teams", "backend.diary",
                                "backend.clinic", "backend.privacy", "backend.sync", "backend.videos",
                                "backend.reminders")):
            continue
        for schema in classes:
            for field_name, field in schema._declared_fields.items():
                for field_ in (field, getattr(field, "inner", None)):
                    messages = getattr(field_, "error_messages", {})
                    english += [(name, field_name, key) for key, message in messages.items()
                                if key not in ("format", "invalid_awareness") and not isinstance(message, Translated)]
    assert english == []


def test_the_accounts_own_refusals_follow_the_reader(client):
    wrong = client.post("/api/v1/tokens", json={"email": "ana@example.org", "password": "falsch"},
                        headers={"Accept-Language": "de"})
    assert assert_error(wrong, 401)["message"] == "E-Mail-Adresse oder Passwort ist falsch."
    asked = client.post("/api/v1/password-resets", json={"email": "ana@example.org"}, headers={"Accept-Language": "es"})
    assert asked.json["message"].endswith("El enlace funciona una sola vez, durante 60 minutos.")
