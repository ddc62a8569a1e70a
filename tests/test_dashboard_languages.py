"""The dashboard in its reader's language (issue 22): the account's locale once signed in, Accept-Language (or the
switcher's choice) before; every word, date and number of the pages in that language, the codes unchanged."""
import json
import re
from datetime import date, timedelta

import pytest
from babel.dates import format_date
from markupsafe import escape

from backend.accounts.models import User
from backend.extensions import db
from tests.dashboard_helpers import Browser, a_clinic_with_everything, check_row, csrf_from, flag_item, text_of
from tests.helpers import episode_body
from tests.pseudo_locale import PSEUDO, english_leaks, english_vocabulary

GERMAN_MONTHS = ("Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember")


def german_day(days_ago: int) -> str:
    """'3. Dezember 2026'"""
    return format_date(date.today() - timedelta(days=days_ago), "long", locale="de")


def signed_in(app, account, locale: str | None = None) -> Browser:
    browser = Browser(app.test_client())
    assert browser.sign_in(account.email).status_code == 302
    if locale:
        browser.client.patch("/api/v1/me", json={"locale": locale}, headers=account.headers)
    return browser


def choose(browser: Browser, page: str, locale: str, next_page: str | None = None):
    """The switcher's button for `locale` on `page`, as a person presses it."""
    html = browser.client.get(page).get_data(as_text=True)
    return browser.client.post("/dashboard/language", data={
        "csrf_token": csrf_from(html), "locale": locale, "next": next_page or page})


def test_a_german_clinician_reads_the_list_the_patient_and_the_account_in_german(app, client, api):
    clinic = a_clinic_with_everything(client, api)
    browser = signed_in(app, clinic["clinician"], "de")
    patients = browser.page("/dashboard/")
    assert '<html lang="de">' in patients
    assert "Patientinnen und Patienten" in patients and "Warnsignale" in patients and "Zuletzt eingetragen" in patients
    assert "Episoden im Wachzustand" in patients and "Benigner neonataler Schlafmyoklonus" in patients
    assert re.search(r"\d+,\d · \d+,\d", text_of(patients)), "rates with a decimal comma"
    assert re.search(r"\d+ (Wochen|Monate), korrigiert \d+ (Wochen|Monate)", patients), "ages in German"
    assert "Episodes" not in patients and "Red flags" not in patients

    page = browser.page(f"/dashboard/children/{clinic['child']['id']}")
    assert '<html lang="de">' in page
    assert "Behandlungen" in page and "Entwicklungskontrollen" in page and "Ärztliche Notizen" in page
    given = page[page.index(f'id="treatment-{clinic["treatment"]["id"]}"'):]
    given = text_of(given[:given.index("</tr>")])
    assert f"vom {german_day(28)} bis {german_day(14)}" in given and "Antiepileptikum" in given
    check = text_of(check_row(page, clinic["check"]["id"]))
    assert german_day(10) in check and re.search(rf"\d{{1,2}}\. ({GERMAN_MONTHS}) \d{{4}}", check)
    assert "weniger Blickkontakt" in check and "⚠ ja" in check and "Verlorene Fähigkeiten" in check
    awake = text_of(flag_item(page, "awake_episodes"))
    assert "Episoden im Wachzustand" in awake and "seit" in awake and "Belege:" in awake
    assert "Wöchentlich, am Montag um 20:00" in page
    chart = json.loads(page.split('<script type="application/json" id="chart-data">')[1].split("</script>")[0])
    assert chart["words"]["y_axis"] == "Episoden pro beobachteter Nacht"
    assert chart["words"]["x_axis"]["corrected"] == "Alter in Wochen (korrigiert)"
    assert chart["axis"] == "corrected" and chart["words"]["point"].startswith("{series}: {rate}")

    account = browser.page("/dashboard/account")
    assert "Zwei-Faktor-Anmeldung" in account and "Angemeldete Geräte" in account and "dieser Browser" in account
    assert re.search(r"\d{1,2}\.\d{2}\.\d{4}, \d{2}:\d{2} UTC|\d{1,2}\. \w+\.? \d{4}, \d{2}:\d{2} UTC", account)


def test_before_sign_in_the_pages_follow_accept_language(client):
    spanish = client.get("/dashboard/login", headers={"Accept-Language": "es-ES,es;q=0.9"}).get_data(as_text=True)
    assert '<html lang="es">' in spanish and "Iniciar sesión" in spanish and "¿Ha olvidado su contraseña?" in spanish
    german = client.get("/dashboard/forgot-password", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="de">' in german and "Passwort vergessen?" in german
    english = client.get("/dashboard/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Forgot your password?" in english


def test_every_page_offers_each_language_in_its_own_words(client):
    page = client.get("/dashboard/login", headers={"Accept-Language": "de"}).get_data(as_text=True)
    for code, name in (("en", "English"), ("es", "español"), ("de", "Deutsch")):
        assert f'name="locale" value="{code}" lang="{code}"' in page and f">{name}</button>" in page
    assert 'value="de" lang="de"\n              aria-pressed="true"' in page


def test_the_switcher_signed_out_wins_over_accept_language_and_persists(client):
    browser = Browser(client)
    chosen = choose(browser, "/dashboard/forgot-password", "de")
    assert chosen.status_code == 302 and chosen.location.endswith("/dashboard/forgot-password")
    for path in ("/dashboard/forgot-password", "/dashboard/login"):
        page = client.get(path, headers={"Accept-Language": "es"}).get_data(as_text=True)
        assert '<html lang="de">' in page, path
    missing = client.get("/dashboard/children/nobody", headers={"Accept-Language": "es"})
    assert missing.status_code == 302  # the sign-in page, in German
    assert "Anmelden" in client.get(missing.location).get_data(as_text=True)


def test_the_switcher_signed_in_changes_the_accounts_language_which_outlives_the_session(app, client, api, family):
    browser = signed_in(app, family["owner"])
    assert '<html lang="en">' in browser.page("/dashboard/")
    path = f"/dashboard/children/{family['child']['id']}"
    chosen = choose(browser, path, "es")
    assert chosen.status_code == 302 and chosen.location.endswith(path)
    assert '<html lang="es">' in browser.page(path) and "Tratamientos" in browser.page(path)
    assert client.get("/api/v1/me", headers=family["owner"].headers).json["locale"] == "es"  # the API's too
    signed_out = browser.post_form("/dashboard/", "/dashboard/logout")
    login = browser.client.get(signed_out.location, headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="es">' in login and "Ha cerrado la sesión." in login  # the language it read in stays
    again = signed_in(app, family["owner"])
    assert '<html lang="es">' in again.client.get("/dashboard/", headers={"Accept-Language": "de"}).get_data(
        as_text=True)


def test_the_switcher_refuses_an_unknown_language_a_missing_token_and_a_foreign_next(client):
    browser = Browser(client)
    assert choose(browser, "/dashboard/login", "fr").status_code == 422
    assert client.post("/dashboard/language", data={"locale": "de"}).status_code == 400  # no CSRF token
    away = choose(browser, "/dashboard/login", "de", next_page="https://elsewhere.example/")
    assert away.status_code == 302 and away.location.endswith("/dashboard/")


def test_a_page_shown_after_a_forms_post_switches_back_to_its_own_page(app, client, api):
    clinician = api.register("clinician")
    browser = signed_in(app, clinician)
    refused = browser.post_form("/dashboard/account", "/dashboard/account/totp/confirm", code="000000")
    assert refused.status_code == 422
    assert 'name="next" value="/dashboard/account"' in refused.get_data(as_text=True)


def test_error_pages_and_flashes_read_in_the_readers_language(app, client, api, family):
    browser = signed_in(app, family["clinician"], "de")
    missing = browser.client.get("/dashboard/children/nobody")
    assert missing.status_code == 404
    body = missing.get_data(as_text=True)
    assert '<html lang="de">' in body and "Fehler 404: Nicht gefunden" in body and "Not Found" not in body
    expired = browser.client.post("/dashboard/logout", data={})
    assert expired.status_code == 400 and "CSRF" in expired.get_data(as_text=True)
    assert "Das Formular ist abgelaufen" in expired.get_data(as_text=True)
    path = f"/dashboard/children/{family['child']['id']}"
    browser.post_form(path, f"{path}/notes", text="   ")
    assert "Notiz:" in browser.page(path)


def test_words_with_a_familys_data_in_them_are_escaped(app, client, api):
    """Lazy words render when read; a name inside one must still be HTML-escaped on the page."""
    clinic = a_clinic_with_everything(client, api, child_name="<b>Zoë</b>")
    hostile = client.post(f"/api/v1/children/{clinic['child']['id']}/treatments", headers=clinic["owner"].headers,
                          json={"name": "<i>Luminal</i>", "kind": "antiseizure_medication",
                                "started_on": (date.today() - timedelta(days=21)).isoformat()})
    assert hostile.status_code == 201, hostile.json
    page = signed_in(app, clinic["clinician"]).page(f"/dashboard/children/{clinic['child']['id']}")
    assert "<b>Zoë</b>" not in page and "<i>Luminal</i>" not in page
    assert str(escape("<b>Zoë</b>")) in page


@pytest.mark.pseudo_locale
def test_every_page_in_the_pseudo_locale_leaves_no_english(app, client, api):
    """The server's HTML text of each page (the browser test reads what a person sees)."""
    clinic = a_clinic_with_everything(client, api)
    with app.app_context():
        for account in (clinic["owner"], clinic["clinician"]):
            db.session.get(User, account.id).locale = PSEUDO
        db.session.commit()
    allowed = {"Ilka", "Ŋuyen", "Zoë", "Ŋ", "Luminaletas", "Europe", "Berlin", "Chrome", "Linux", "Dr", "Ŋoŋo", "ŋa",
               "English", "español", "Deutsch", "Myodiary"}
    allowed |= {word for account in (clinic["owner"], clinic["clinician"])
                for word in re.findall(r"[A-Za-z]+", account.email)}
    vocabulary = english_vocabulary()
    child_id = clinic["child"]["id"]
    for account, paths in ((clinic["clinician"], ["/dashboard/", f"/dashboard/children/{child_id}",
                                                  "/dashboard/account", "/dashboard/children/nobody"]),
                           (clinic["owner"], [f"/dashboard/children/{child_id}"])):
        browser = signed_in(app, account)
        for path in paths:
            page = browser.client.get(path).get_data(as_text=True)
            assert f'<html lang="{PSEUDO}">' in page, path
            visible = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
            assert english_leaks(text_of(visible), vocabulary, also_allowed=allowed) == [], path
    for path in ("/dashboard/login", "/dashboard/forgot-password", "/dashboard/verify-email"):
        page = Browser(app.test_client()).client.get(path, headers={"Accept-Language": PSEUDO}).get_data(as_text=True)
        assert english_leaks(text_of(page), vocabulary, also_allowed=allowed) == [], path


def test_the_episodes_are_headed_by_calendar_weeks_starting_on_the_readers_first_day(app, client, api):
    """A Sunday night and the Monday night after it fall in two weeks (Monday first in German, CLDR)."""
    owner = api.register("caregiver")
    child = api.create_child(owner, timezone="Europe/Berlin")
    for night in ("2026-11-29T03:00:00+01:00", "2026-11-30T03:00:00+01:00", "2026-12-01T03:00:00+01:00"):
        assert client.post(f"/api/v1/children/{child['id']}/episodes", headers=owner.headers,
                           json=episode_body(started_at=night)).status_code == 201
    page = text_of(signed_in(app, owner, "de").page(f"/dashboard/children/{child['id']}"))
    assert page.count("Woche vom ") == 2
    newest, older = page.index("Woche vom 30. November 2026"), page.index("Woche vom 23. November 2026")
    assert newest < page.index("1. Dez. 2026") < page.index("30. Nov. 2026") < older < page.index("29. Nov. 2026")
