"""Languages (issue 22, first part): Flask-Babel, each account's locale, the catalogs complete for every string.

The catalogs test extracts the words from the code as `make translations` does, so a new English string
without its Spanish and German fails here.
"""
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from backend.i18n import LOCALES, TRANSLATIONS
from tests.helpers import PASSWORD, assert_error
from tests.pseudo_locale import PSEUDO, english_leaks, english_vocabulary, source_messages

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as file:
        return read_po(file, locale=locale)


@pytest.mark.parametrize("locale", [locale for locale in LOCALES if locale != "en"])
def test_every_string_of_the_code_is_translated_with_the_same_placeholders(locale):
    messages = {message.id[0] if isinstance(message.id, tuple) else message.id: message
                for message in catalog(locale) if message.id}
    words = source_messages()
    assert words, "no translatable strings found: is the extraction looking in the right place?"
    assert sorted(set(words) - set(messages)) == [], f"not in the {locale} catalog: run `make translations`"
    for word, source in words.items():
        message = messages[word]
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms) and not message.fuzzy, f"{locale}: {word!r} is not translated"
        expected = set(PLACEHOLDER.findall(" ".join(source) if isinstance(source, tuple) else source))
        found = [set(PLACEHOLDER.findall(form)) for form in forms]
        # a plural's singular may say "one" in words instead of %(num)s, but nothing else may differ
        assert set().union(*found) == expected and all(form <= expected for form in found), (locale, word)


@pytest.mark.parametrize("language, words", [("de", "Senden Sie den Inhalt als JSON"),
                                             ("es", "Envíe el cuerpo como JSON"),
                                             ("fr-FR, de;q=0.5", "Senden Sie den Inhalt als JSON"),
                                             ("de-AT, en;q=0.5", "Senden Sie den Inhalt als JSON"),
                                             ("fr", "Send the body as JSON")])
def test_error_messages_follow_accept_language_and_codes_and_fields_never_change(client, language, words):
    refused = client.post("/api/v1/tokens", data="{}", content_type="text/plain",
                          headers={"Accept-Language": language})
    body = assert_error(refused, 415, "Content-Type")
    assert body["message"].startswith(words) and body["status"] == "Unsupported Media Type"


def test_a_german_422_and_numbers_in_the_readers_format(client):
    invalid = client.post("/api/v1/users", json={"email": "not an address", "password": PASSWORD, "name": "A",
                                                 "role": "caregiver"}, headers={"Accept-Language": "de-DE"})
    assert assert_error(invalid, 422, "email")["message"] == "Die Anfrage ist ungültig; siehe „errors“ für jedes Feld."
    too_big = "x" * (64 * 1024 + 1)  # the tests' MAX_CONTENT_LENGTH is 65,536 bytes
    for language, number in (("de", "65.536"), ("en", "65,536")):
        refused = client.post("/api/v1/users", data=too_big, content_type="application/json",
                              headers={"Accept-Language": language})
        assert number in assert_error(refused, 413)["message"]


def test_an_account_keeps_the_language_it_registered_in_and_may_change_it(client):
    registered = client.post("/api/v1/users", json={"email": "ana@example.org", "password": PASSWORD, "name": "Ana",
                                                    "role": "caregiver"}, headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert registered.status_code == 201 and registered.json["locale"] == "es"
    token = client.post("/api/v1/tokens", json={"email": "ana@example.org", "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.patch("/api/v1/me", json={"locale": "fr"}, headers=headers)  # her language, not the header's
    assert assert_error(refused, 422, "locale")["message"].startswith("La solicitud no es válida")
    assert client.patch("/api/v1/me", json={"locale": "de"}, headers=headers).json["locale"] == "de"
    assert client.get("/api/v1/me", headers=headers).json["locale"] == "de"
    chosen = client.post("/api/v1/users", json={"email": "ben@example.org", "password": PASSWORD, "name": "Ben",
                                                "role": "clinician", "locale": "de"})
    assert chosen.json["locale"] == "de"
    plain = client.post("/api/v1/users", json={"email": "cy@example.org", "password": PASSWORD, "name": "Cy",
                                               "role": "caregiver"})
    assert plain.json["locale"] == "en"  # no Accept-Language: English


@pytest.mark.pseudo_locale
def test_the_pseudo_locale_finds_english_left_out_of_the_catalogs(client):
    """The tool of every surface's pseudo-locale test: a translated message has no English word outside its
    brackets; English typed past the catalogs has."""
    vocabulary = english_vocabulary()
    refused = client.post("/api/v1/tokens", data="{}", content_type="text/plain", headers={"Accept-Language": PSEUDO})
    message = assert_error(refused, 415, "Content-Type")["message"]
    assert message.startswith("⟦") and english_leaks(message, vocabulary) == []
    assert english_leaks(f"{message} Send the body", vocabulary) == ["Send", "body", "the"]
    assert english_leaks("3 December 2026", vocabulary) == ["December"]  # CLDR's English, not the reader's


def test_a_lazy_message_is_escaped_in_a_template_like_any_text(app):
    """Flask-Babel's LazyString calls itself safe HTML: a child's name inside a message would reach a page raw."""
    from backend.i18n import lazy_gettext

    hostile = lazy_gettext("%(child)s's diary", child="<script>alert(1)</script>")
    with app.test_request_context():
        page = app.jinja_env.from_string("<p>{{ words }}</p>").render(words=hostile)
    assert page == "<p>&lt;script&gt;alert(1)&lt;/script&gt;&#39;s diary</p>"


@pytest.mark.parametrize("language, words", [("de", "Unter dieser Adresse wurde nichts gefunden."),
                                             ("es", "No se encontró nada en esta dirección."),
                                             ("en", "Nothing was found at this address.")])
def test_an_error_raised_without_a_message_reads_in_the_readers_language_too(client, language, words):
    """A route not found or a method not allowed: Werkzeug's English descriptions are not what a reader gets."""
    missing = client.get("/api/v1/no-such-thing", headers={"Accept-Language": language})
    assert assert_error(missing, 404)["message"] == words
    wrong = client.put("/api/v1/tokens", json={}, headers={"Accept-Language": "de"})
    assert assert_error(wrong, 405)["message"] == "Diese Methode ist hier nicht erlaubt."


def test_numbers_babel_refuses_are_still_written(app):
    """The fuzzing found trends whose fitted numbers overflowed Babel's decimal context (a 500 on the trends and
    their charts): NaN, infinity and huge values are written, in the reader's symbols."""
    from flask_babel import force_locale

    from backend.i18n import number, percent

    with app.app_context(), force_locale("de"):
        assert str(number(1e308, "0.00")) == "1E308" and str(number(float("nan"), "0.00")) == "NaN"
        assert str(number(float("inf"))) == "∞" and str(number(1234.5)) == "1.234,5"
        assert str(percent(1e300)).endswith("%") and str(percent(0.64)) == "64\xa0%"
