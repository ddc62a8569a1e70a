"""Account emails in the recipient's language (issue 22): subject, text and HTML in the account's locale when the
email is written (sent), dates in its words, the Content-Language header and <html lang>; nothing left in English
(the pseudo-locale)."""
import re
from datetime import UTC, datetime

import pytest

from backend.accounts.emails import KINDS, queue_email, send_account_emails
from backend.accounts.models import User
from backend.extensions import db
from tests.helpers import PASSWORD, text_of
from tests.pseudo_locale import PSEUDO, english_leaks, english_vocabulary

SIGNED_IN_AT = datetime(2026, 12, 3, 20, 5, tzinfo=UTC)
FACTS = {"verify_email": {"hours": 72}, "password_reset": {"minutes": 30},
         "email_changed": {"new_address": "n***@example.org"}, "password_changed": {"how": "reset"},
         "new_device": {"kind": "api", "device_name": "Ilkas Telefon", "signed_in_at": SIGNED_IN_AT.isoformat()},
         "registration_attempt": {}}
SECRETS = {"verify_email": "geheim-1", "password_reset": "geheim-2"}
# what each kind says, in Spanish and German: its subject and a sentence of its text
WORDS = {
    "es": {"verify_email": ("Confirme su dirección de correo electrónico para Myodiary",
                            "El enlace funciona durante 72 horas."),
           "password_reset": ("Elija una contraseña nueva para Myodiary", "una sola vez, durante 30 minutos."),
           "email_changed": ("Se ha cambiado su dirección de correo electrónico de Myodiary", "n***@example.org"),
           "password_changed": ("Se ha cambiado su contraseña de Myodiary", "con un enlace enviado a esta dirección"),
           "new_device": ("Un nuevo inicio de sesión en su cuenta de Myodiary",
                          "el 3 de diciembre de 2026 a las 20:05 (UTC): Ilkas Telefon."),
           "registration_attempt": ("Alguien ha intentado registrarse en Myodiary con su dirección",
                                    "«¿Ha olvidado su contraseña?»")},
    "de": {"verify_email": ("Bitte bestätigen Sie Ihre E-Mail-Adresse für Myodiary", "Der Link gilt 72 Stunden lang."),
           "password_reset": ("Wählen Sie ein neues Passwort für Myodiary", "einmal, 30 Minuten lang."),
           "email_changed": ("Ihre E-Mail-Adresse bei Myodiary wurde geändert", "in n***@example.org geändert"),
           "password_changed": ("Ihr Myodiary-Passwort wurde geändert", "mit einem Link zurückgesetzt"),
           "new_device": ("Eine neue Anmeldung bei Ihrem Myodiary-Konto",
                          "Am 3. Dezember 2026 um 20:05 (UTC) gab es eine neue Anmeldung"),
           "registration_attempt": ("Jemand wollte sich mit Ihrer Adresse bei Myodiary registrieren",
                                    "„Passwort vergessen?“")},
}
GREETING = {"es": "Hola, Zoë Ŋ:", "de": "Hallo Zoë Ŋ,"}
LINK = re.compile(r"https?://\S+")


def account(app, api, locale: str):
    registered = api.register()
    with app.app_context():
        user = db.session.get(User, registered.id)
        user.locale, user.name = locale, "Zoë Ŋ"
        db.session.commit()
    return registered


def queue_every_kind(app, registered) -> None:
    with app.app_context():
        user = db.session.get(User, registered.id)
        for kind in KINDS:
            queue_email(kind, user.email, user=user, secret=SECRETS.get(kind), facts=FACTS[kind])
        db.session.commit()
        send_account_emails()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


@pytest.mark.parametrize("locale", ["es", "de"])
def test_every_account_email_arrives_in_the_recipients_language(app, api, smtp, locale):
    recipient = account(app, api, locale)
    queue_every_kind(app, recipient)
    received = {message["Subject"]: message for message in smtp.to(recipient.email)}
    for kind in KINDS:
        subject, sentence = WORDS[locale][kind]
        message = received.pop(subject)
        assert message["Content-Language"] == locale
        assert text_of(message).startswith(GREETING[locale]) and sentence in text_of(message), kind
        assert f'<html lang="{locale}">' in html_of(message)
        assert GREETING[locale] in html_of(message) and sentence in html_of(message), kind
    verify = [m for m in smtp.to(recipient.email) if m["Subject"] == WORDS[locale]["verify_email"][0]][0]
    assert "/dashboard/verify-email?token=geheim-1" in text_of(verify) and "geheim-1" in html_of(verify)


def test_co_parents_read_their_own_language_and_a_change_of_language_applies_to_what_is_still_waiting(
        app, api, client, smtp):
    spanish = client.post("/api/v1/users", json={"email": "ana@example.org", "password": PASSWORD, "name": "Ana",
                                                 "role": "caregiver"}, headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert spanish.status_code == 201
    german = client.post("/api/v1/users", json={"email": "jonas@example.org", "password": PASSWORD, "name": "Jonas",
                                                "role": "caregiver", "locale": "en"})
    token = client.post("/api/v1/tokens", json={"email": "jonas@example.org", "password": PASSWORD}).json["token"]
    client.patch("/api/v1/me", json={"locale": "de"}, headers={"Authorization": f"Bearer {token}"})
    assert german.status_code == 201
    with app.app_context():
        send_account_emails()
    (ana,) = smtp.to("ana@example.org")
    (jonas,) = smtp.to("jonas@example.org")  # queued while his account read English, written in German
    assert ana["Subject"] == WORDS["es"]["verify_email"][0] and ana["Content-Language"] == "es"
    assert text_of(ana).startswith("Hola, Ana:")
    assert jonas["Subject"] == WORDS["de"]["verify_email"][0] and jonas["Content-Language"] == "de"


def test_a_new_sign_in_is_told_in_german_with_the_date_in_german(app, api, client, smtp):
    recipient = account(app, api, "de")
    client.post("/api/v1/tokens", json={"email": recipient.email, "password": PASSWORD, "device_name": "Küchentablet"})
    with app.app_context():
        send_account_emails()
    (notice,) = [m for m in smtp.to(recipient.email) if m["Subject"] == WORDS["de"]["new_device"][0]]
    today = datetime.now(UTC)
    assert f"Am {today.day}. " in text_of(notice) and ": Küchentablet." in text_of(notice)


def test_an_email_for_no_account_keeps_the_language_of_the_request_that_queued_it(app, smtp):
    with app.test_request_context(headers={"Accept-Language": "de"}):
        queue_email("registration_attempt", "niemand@example.org")
        db.session.commit()
    with app.app_context():
        send_account_emails()
    (message,) = smtp.to("niemand@example.org")
    assert message["Subject"] == WORDS["de"]["registration_attempt"][0] and text_of(message).startswith("Hallo,")


@pytest.mark.pseudo_locale
def test_no_account_email_leaves_english_in_its_subject_text_or_html(app, api, smtp):
    recipient = account(app, api, PSEUDO)
    queue_every_kind(app, recipient)
    vocabulary, messages = english_vocabulary(), smtp.to(recipient.email)
    assert len(messages) == len(KINDS)
    for message in messages:
        visible = re.sub(r"<[^>]+>", " ", html_of(message))
        for text in (message["Subject"], text_of(message), visible):
            assert english_leaks(LINK.sub(" ", text), vocabulary, also_allowed={"Ilkas", "Telefon"}) == [], text
        assert message["Content-Language"] == PSEUDO and f'<html lang="{PSEUDO}">' in html_of(message)
