"""The dashboard's languages in a real headless Chromium (issue 22): a German clinician's pages, the switcher signed
out and signed in, and every page in the pseudo-locale: what a person sees (document.body.innerText) has no English
left, nothing is cut off, and a 1280 px window never scrolls sideways."""
import re

import pytest

from backend.accounts.models import User
from backend.extensions import db
from tests.dashboard_helpers import a_clinic_with_everything
from tests.helpers import PASSWORD
from tests.pseudo_locale import PSEUDO, english_leaks, english_vocabulary
from tests.test_dashboard_browser import browser, server, shot  # noqa: F401 (fixtures)
from tests.test_dashboard_languages import GERMAN_MONTHS, german_day

# Elements whose text overflows a box that hides it (or, at a desktop's width, scrolls it sideways): cut off for
# the reader.
CUT_OFF = """() => [...document.querySelectorAll('body *')].filter(el => {
    if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') { return false; }
    const style = getComputedStyle(el);
    if (el.closest('.sr-only, .skip')) { return false; }
    const hides = ['hidden', 'clip', 'auto', 'scroll'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
    return hides && el.scrollWidth > el.clientWidth + 1 && el.textContent.trim();
}).map(el => el.tagName + '.' + el.className + ': ' + el.textContent.trim().slice(0, 60))"""


def sign_in(page, base: str, email: str) -> None:
    """The sign-in form, by its fields' ids (its words are in whichever language the page speaks)."""
    page.goto(f"{base}/dashboard/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(f"{base}/dashboard/")


def watched(page) -> list[str]:
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def set_locale(app, *accounts) -> None:
    with app.app_context():
        for account in accounts:
            db.session.get(User, account.id).locale = PSEUDO
        db.session.commit()


def test_a_german_clinician_in_the_browser(browser, server, client, api):  # noqa: F811
    clinic = a_clinic_with_everything(client, api)
    client.patch("/api/v1/me", json={"locale": "de"}, headers=clinic["clinician"].headers)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    errors = watched(page)
    sign_in(page, server, clinic["clinician"].email)
    assert page.evaluate("document.documentElement.lang") == "de"
    assert "Patientinnen und Patienten" in page.locator("h1").inner_text()
    assert re.search(r"\d+,\d · \d+,\d", page.locator("table.patients").inner_text())
    page.get_by_role("link", name="Zoë Ŋ").click()
    page.wait_for_selector("#trend-chart[data-ready=true]")
    text = page.locator("body").inner_text()
    assert "Warnsignale" in text and "Behandlungen" in text and "Entwicklungskontrollen" in text
    assert german_day(10) in text and re.search(rf"\d{{1,2}}\. ({GERMAN_MONTHS}) \d{{4}}", text)
    page.get_by_label("chronologisch").check()
    page.wait_for_selector("#trend-chart[data-axis=chronological]")
    shot(page, "patient-de")
    page.get_by_role("link", name="Ihr Konto").click()
    assert "Angemeldete Geräte" in page.locator("body").inner_text()
    shot(page, "account-de")
    assert errors == []


def test_the_switcher_in_the_browser_signed_out_then_signed_in(browser, server, client, family):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page.goto(f"{server}/dashboard/login")
    page.get_by_role("button", name="español").click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang") == "es"
    assert page.get_by_role("button", name="español").get_attribute("aria-pressed") == "true"
    page.reload()
    assert page.get_by_role("heading", name="Iniciar sesión").is_visible()  # kept, over the browser's English
    sign_in(page, server, family["owner"].email)
    assert page.evaluate("document.documentElement.lang") == "en"  # signed in: the account's language
    page.get_by_role("button", name="Deutsch").click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang") == "de" and page.url.endswith("/dashboard/")
    assert client.get("/api/v1/me", headers=family["owner"].headers).json["locale"] == "de"
    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_url(f"{server}/dashboard/login")
    assert page.get_by_role("heading", name="Anmelden").is_visible()


@pytest.mark.pseudo_locale
def test_every_page_in_the_pseudo_locale_in_the_browser(browser, server, app, client, api):  # noqa: F811
    clinic = a_clinic_with_everything(client, api)
    set_locale(app, clinic["owner"], clinic["clinician"])
    allowed = {"Ilka", "Ŋuyen", "Zoë", "Ŋ", "Luminaletas", "Europe", "Berlin", "Dr", "Ŋoŋo", "ŋa", "English",
               "español", "Deutsch", "Myodiary", "Chrome", "Linux", "HeadlessChrome"}
    allowed |= {word for account in (clinic["owner"], clinic["clinician"])
                for word in re.findall(r"[A-Za-z]+", account.email)}
    vocabulary = english_vocabulary()
    child_id = clinic["child"]["id"]
    signed_out = ["/dashboard/login", "/dashboard/forgot-password", "/dashboard/verify-email",
                  "/dashboard/verify-email?token=something"]
    clinician_pages = ["/dashboard/", "/dashboard/?filter=not_logged", f"/dashboard/children/{child_id}",
                       "/dashboard/account", "/dashboard/children/nobody"]
    owner_pages = [f"/dashboard/children/{child_id}"]
    problems = {}
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=PSEUDO)
    page = context.new_page()
    errors = watched(page)

    def look(path: str) -> None:
        page.goto(server + path)
        if "/children/" in path and "nobody" not in path:
            page.wait_for_selector("#trend-chart[data-ready=true]")
        found = {"leaks": english_leaks(page.evaluate("document.body.innerText"), vocabulary, also_allowed=allowed),
                 "cut off": page.evaluate(CUT_OFF),
                 "sideways": page.evaluate("document.documentElement.scrollWidth") > 1280 + 1,
                 "lang": page.evaluate("document.documentElement.lang") != PSEUDO}
        found = {kind: value for kind, value in found.items() if value}
        if found:
            problems[path] = found

    for path in signed_out:
        look(path)
    shot(page, "login-pseudo")
    for account, paths in ((clinic["clinician"], clinician_pages), (clinic["owner"], owner_pages)):
        sign_in(page, server, account.email)
        for path in paths:
            look(path)
            shot(page, "pseudo-" + re.sub(r"\W+", "-", path.split("/dashboard/")[1] or "list")[:40])
        page.locator("nav form button[type=submit]").click()
        page.wait_for_url(f"{server}/dashboard/login")
    assert problems == {}
    assert errors == [] or all("404" in error for error in errors)
    context.close()
