"""The dashboard end to end in a real headless Chromium (Debian's chromium, driven by Playwright).

Sign in with a two-factor code, see the list, filter it, open a patient, the chart draws (a non-empty canvas)
with a treatment's period as a band and its age axis switches, follow a development flag's evidence to the
check, add a note, page back through the episodes and forward again, see the account page, use the keyboard,
read it on a phone, sign out; play an episode's video in its row. A screenshot of each page is kept under
test-artifacts/. Without Chromium (or the vendored Chart.js) these tests skip, saying why.
"""
import shutil
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from werkzeug.serving import make_server

from backend.accounts.emails import send_account_emails
from backend.diary.simulation import resolving
from tests.helpers import PASSWORD, episode_body, in_postgres, link_in
from tests.sync_helpers import log_course
from tests.video_clips import make_clip
from tests.video_helpers import new_episode, process, upload

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHART_JS = Path(__file__).resolve().parent.parent / "backend/dashboard/static/vendor/chart.umd.js"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (`make browser` or .ci/run installs Debian's chromium)")
    if not CHART_JS.exists():
        pytest.skip("Chart.js is not in static/vendor (`make assets` copies it from the npm lockfile)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def server(app):
    """The app on a real socket on 127.0.0.1, served by Werkzeug in a thread."""
    if in_postgres(app):
        pytest.skip("the browser walk-through runs once, on SQLite; access rules run on both in test_dashboard")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture
def clinic(client, api):
    """A clinician with two patients: a preterm child with ten weeks of diary, and one with an awake episode."""
    owner, clinician = api.register("caregiver"), api.register("clinician")
    born = (date.today() - timedelta(weeks=14)).isoformat()
    preterm = api.create_child(owner, name="Ada", birth_date=born, gestational_weeks=33)
    flagged = api.create_child(owner, name="Ben", condition="benign_myoclonus_of_infancy")
    for child in (preterm, flagged):
        api.join(owner, child["id"], clinician)
    log_course(client, owner, preterm["id"], resolving(5, 3), weeks=10)
    client.post(f"/api/v1/children/{flagged['id']}/episodes", json=episode_body(sleep_state="awake",
                                                                                 stopped_when_woken="no"),
                headers=owner.headers)
    return {"owner": owner, "clinician": clinician, "preterm": preterm, "flagged": flagged}


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def sign_in(page, server: str, email: str) -> None:
    page.goto(f"{server}/dashboard/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/dashboard/")


def turn_on_two_factor(client, account) -> str:
    """Two-factor sign-in on for the account (through the API); its secret."""
    secret = client.post("/api/v1/me/totp", headers=account.headers).json["secret"]
    confirmed = client.post("/api/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()},
                            headers=account.headers)
    assert confirmed.status_code == 200, confirmed.json
    return secret


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def log_treatment_and_lost_skills(client, owner, child_id: str) -> str:
    """A medicine given for two weeks inside the diary, and a check with lost skills; the check's id."""
    given = client.post(f"/api/v1/children/{child_id}/treatments", headers=owner.headers, json={
        "name": "Phenobarbital", "kind": "antiseizure_medication", "dose": "5 mg/kg/day",
        "started_on": days_ago(28), "stopped_on": days_ago(14)})
    assert given.status_code == 201, given.json
    check = client.post(f"/api/v1/children/{child_id}/development-checks", headers=owner.headers, json={
        "checked_on": days_ago(10), "new_skills": "no", "lost_skills": "yes", "concerns": ["less_eye_contact"]})
    assert check.status_code == 201, check.json
    return check.json["id"]


def in_viewport(page, selector: str) -> bool:
    return page.evaluate("""(selector) => {
        const box = document.querySelector(selector).getBoundingClientRect();
        return box.top >= 0 && box.top < window.innerHeight;
    }""", selector)


def canvas_ink(page) -> int:
    """Pixels the chart drew on its canvas (alpha above zero)."""
    return page.evaluate("""() => {
        const canvas = document.getElementById('trend-chart');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let ink = 0;
        for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) ink++; }
        return ink;
    }""")


@pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)
def test_a_clinician_walks_through_the_dashboard(browser, server, client, clinic):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{server}/dashboard/login")
    shot(page, "login")
    secret = turn_on_two_factor(client, clinic["clinician"])
    page.get_by_label("Email").fill(clinic["clinician"].email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/dashboard/login/code**")  # two-factor sign-in: the code comes next
    shot(page, "login-code")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30)))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{server}/dashboard/")
    rows = page.locator("table.patients tbody tr")
    assert rows.count() == 2
    assert rows.first.get_attribute("data-child-id") == clinic["flagged"]["id"]  # red flags first
    shot(page, "list")

    page.get_by_label("Condition").select_option("bnsm")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**condition=bnsm**")  # count() does not wait: the old list answered 2 or, mid-load, 0
    assert page.locator("table.patients tbody tr").count() == 1
    assert page.locator("table.patients").get_by_role("link", name="Ada").is_visible()

    check_id = log_treatment_and_lost_skills(client, clinic["owner"], clinic["preterm"]["id"])
    page.get_by_role("link", name="Ada").click()
    page.wait_for_selector("#trend-chart[data-ready=true]")
    assert canvas_ink(page) > 2_000
    chart = page.locator("#trend-chart")
    assert chart.get_attribute("data-axis") == "corrected"  # born at 33 weeks
    assert chart.get_attribute("data-treatment-bands") == "1"
    page.get_by_label("chronological").check()
    page.wait_for_selector("#trend-chart[data-axis=chronological]")
    assert canvas_ink(page) > 2_000 and chart.get_attribute("data-treatment-bands") == "1"
    shot(page, "patient")

    assert not in_viewport(page, f"#check-{check_id}")
    page.locator("#flag-lost_skills a").first.click()
    page.wait_for_url(f"**#check-{check_id}")
    assert page.evaluate("document.querySelector(':target').id") == f"check-{check_id}"
    assert in_viewport(page, f"#check-{check_id}") and "less eye contact" in page.locator(":target").inner_text()

    page.get_by_label("New note").fill("Seen today; EEG normal, reassured the family.")
    page.get_by_label("EEG", exact=True).select_option("normal")
    page.get_by_role("button", name="Add note").click()
    assert page.locator(".note-text").first.inner_text() == "Seen today; EEG normal, reassured the family."
    assert "EEG: normal" in page.locator(".note .meta").first.inner_text()

    newest = page.locator("table.episodes tr[id^=episode-]").first.get_attribute("id")
    page.locator("#episode-pager-top a.older").click()  # ten weeks of diary: more than a page of episodes
    page.wait_for_url("**before=**#episodes")
    assert "; 51 to " in page.locator("#episode-count").inner_text()
    assert page.locator("table.episodes tbody tr").first.get_attribute("class") == "week"  # the page's first week
    assert page.locator(f"#{newest}").count() == 0
    page.locator("#episode-pager-bottom a.newer").click()
    page.wait_for_url("**after=**#episodes")
    assert page.locator("table.episodes tr[id^=episode-]").first.get_attribute("id") == newest

    page.get_by_role("link", name="Your account").click()
    page.wait_for_url(f"{server}/dashboard/account")
    assert "Two-factor sign-in is on" in page.locator("#two-factor").inner_text()
    assert page.locator("table.devices tbody tr").count() == 2  # the API token of the fixture and this browser
    shot(page, "account")

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{server}/dashboard/login")
    page.goto(f"{server}/dashboard/")
    assert page.url.startswith(f"{server}/dashboard/login")
    assert errors == []


@pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)
def test_the_dashboard_works_from_the_keyboard_and_on_a_phone(browser, server, clinic):
    page = browser.new_page(viewport={"width": 375, "height": 812}, is_mobile=True)
    page.goto(f"{server}/dashboard/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_label("Email").focus()
    page.keyboard.type(clinic["clinician"].email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/dashboard/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1  # no sideways scrolling
    shot(page, "list-phone")
    page.get_by_role("link", name="Ada").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#trend-chart[data-ready=true]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map(el => el.name)""")
    assert unlabelled == []
    shot(page, "patient-phone")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    return Path(make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=2.0)).read_bytes()


# Every Content-Security-Policy violation of the page, as the page itself hears of them.
LISTEN_FOR_VIOLATIONS = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.cspViolations.push(e.effectiveDirective + ' ' + e.blockedURI));"""

LOAD_AND_PLAY = """async (selector) => {
    const video = document.querySelector(selector);
    // A <source> that fails fires its error on the source, seen here in the capture phase; nothing hangs.
    const once = (name) => new Promise((resolve, reject) => {
        video.addEventListener(name, resolve, {once: true});
        video.addEventListener('error', (e) => reject(new Error('media error on ' + e.target.tagName + ' '
            + (video.error ? video.error.code : 'no source played'))), {once: true, capture: true});
        setTimeout(() => reject(new Error('no ' + name + ' in 10 s')), 10000);
    });
    const before = video.readyState;
    const metadata = once('loadedmetadata');
    video.preload = 'metadata';
    video.load();
    await metadata;
    const duration = video.duration;
    video.muted = true;
    await video.play();
    while (video.currentTime < 0.5) { await once('timeupdate'); }
    video.pause();
    const seeked = once('seeked');
    video.currentTime = 1.5;
    await seeked;
    return {before, duration, width: video.videoWidth, height: video.videoHeight, at: video.currentTime};
}"""


def test_a_clinician_plays_an_episodes_video_in_its_row(browser, server, app, client, family, clip):
    owner, child_id = family["owner"], family["child"]["id"]
    filmed = new_episode(client, owner, child_id)
    upload(client, owner, filmed, clip, video_id="clip1")
    assert "1 ready" in process(app)
    awake = client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(
        sleep_state="awake", started_at="2026-11-20T21:00:00+01:00", notes="On the sofa"), headers=owner.headers)
    assert awake.status_code == 201, awake.json
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(LISTEN_FOR_VIOLATIONS)
    errors, served = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: served.append((response.url.split(server)[-1], response.status))
            if "/videos/" in response.url else None)
    sign_in(page, server, family["clinician"].email)
    page.goto(f"{server}/dashboard/children/{child_id}#episodes")

    video = page.locator(f"#episode-{filmed} video")
    assert video.is_visible() and video.get_attribute("preload") == "none"
    page.wait_for_function("() => [...document.querySelectorAll('video')].every(v => v.poster)")
    page.wait_for_load_state("networkidle")
    assert served == [("/dashboard/videos/clip1/poster.jpg", 200)]  # the poster only, until asked to play
    played = page.evaluate(LOAD_AND_PLAY, f"#episode-{filmed} video")
    assert played["before"] == 0  # preload none: nothing fetched before load()
    assert abs(played["duration"] - 2.0) <= 0.2
    assert (played["width"], played["height"]) == (320, 240) and abs(played["at"] - 1.5) < 0.1
    assert {status for path, status in served if path.endswith("/content")} <= {200, 206} and any(
        path == "/dashboard/videos/clip1/content" for path, _ in served)
    shot(page, "patient-video")

    row = page.locator(f"#episode-{filmed}")
    assert row.locator("td").nth(2).inner_text() == "asleep"  # the row's other cells read as before
    page.get_by_label("Sleep state").select_option("awake")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**sleep_state=awake**")
    assert page.locator("table.episodes tbody tr[id^=episode-]").count() == 1
    assert page.locator(f"#episode-{awake.json['id']} td").nth(5).inner_text() == "On the sofa"
    assert page.locator("video").count() == 0
    page.get_by_role("link", name="Clear").click()
    page.wait_for_url(lambda url: "sleep_state" not in url)
    assert page.locator("table.episodes tbody tr[id^=episode-]").count() == 2 and page.locator("video").count() == 1
    assert page.evaluate("window.cspViolations") == []
    assert errors == []
    page.close()


def test_the_api_docs_render_under_their_content_security_policy(browser, server):
    """Swagger UI (served from the installed package, no CDN) lists the operations; no CSP violation."""
    page = browser.new_page()
    problems = []
    page.on("console", lambda message: problems.append((message.text, message.location.get("url")))
            if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico") else None)
    page.goto(f"{server}/api/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() > 20
    shot(page, "api-docs")
    assert problems == []
    page.close()


def emailed_link(app, smtp, address: str, subject_word: str, path: str) -> str:
    """The link of the newest email to `address` whose subject has `subject_word`, as its reader would follow it."""
    with app.app_context():
        send_account_emails()
    emails = [m for m in smtp.to(address) if subject_word in m["Subject"].lower()]
    assert emails, [m["Subject"] for m in smtp.to(address)]
    return link_in(emails[-1], path)


def test_a_new_parent_confirms_the_address_then_gets_back_in_from_the_email_alone(browser, server, app, api, smtp):
    """Issue 21 in a real browser: the verification link confirms with a button; "Forgot your password?" leads,
    by the email alone, to a new password and a sign-in with it."""
    parent = api.register("caregiver", verified=False)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + emailed_link(app, smtp, parent.email, "confirm", "/dashboard/verify-email"))
    page.get_by_role("button", name="Confirm my email address").click()
    assert api.client.get("/api/v1/me", headers=parent.headers).json["email_verified"] is True

    page.goto(f"{server}/dashboard/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(parent.email)
    page.get_by_role("button", name="Send me a link").click()
    assert "If an account has this address" in page.locator("[role=status]").inner_text()
    page.goto(server + emailed_link(app, smtp, parent.email, "password", "/dashboard/reset-password"))
    page.get_by_label("New password").fill("password")  # the most common password of all: refused, with why
    page.get_by_role("button", name="Set the new password").click()
    assert "common" in page.locator("#password-problems").inner_text().lower()
    page.get_by_label("New password").fill("the kettle sings at dawn")
    page.get_by_role("button", name="Set the new password").click()
    page.get_by_role("link", name="Sign in with the new password").click()
    page.get_by_label("Email").fill(parent.email)
    page.get_by_label("Password").fill("the kettle sings at dawn")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/dashboard/")
    shot(page, "back-in-after-reset")
    assert errors == []
