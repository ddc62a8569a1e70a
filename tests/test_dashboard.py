"""The dashboard through HTTP, as a browser without JavaScript uses it: sign-in, access rules, CSRF,
notes with EEG results, the audit log, list filters, exports, security headers, episode videos,
development checks, treatments and where red flags' evidence links lead."""
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from markupsafe import escape

from backend.diary.simulation import Course, resolving
from tests.dashboard_helpers import (
    Browser,
    check_row,
    csrf_from,
    elements,
    episode_row,
    flag_item,
    in_page_links,
    policy,
    text_of,
)
from tests.helpers import PASSWORD, episode_body, statements_of
from tests.sync_helpers import log_course
from tests.video_clips import make_clip, make_pdf
from tests.video_helpers import create, new_episode, patch, process, upload


@pytest.fixture
def owner_browser(app, family):
    browser = Browser(app.test_client())
    assert browser.sign_in(family["owner"].email).status_code == 302
    return browser


@pytest.fixture
def clinician_browser(app, family):
    browser = Browser(app.test_client())
    assert browser.sign_in(family["clinician"].email).status_code == 302
    return browser


def patient_path(child_id: str) -> str:
    return f"/dashboard/children/{child_id}"


# ---- sign-in, session, CSRF ---------------------------------------------------------------------

def test_the_login_form_has_email_password_and_a_hidden_csrf_field(client):
    page = client.get("/dashboard/login")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    for control in ('name="email"', 'name="password"', 'type="hidden" name="csrf_token"'):
        assert control in body
    assert '<label for="email">' in body and '<label for="password">' in body


def test_the_site_root_opens_the_dashboard(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/")


def test_signing_in_sets_a_safe_session_cookie_and_opens_the_list(client, family):
    response = Browser(client).sign_in(family["owner"].email)
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert family["child"]["name"] in Browser(client).page("/dashboard/")


@pytest.mark.config(APP_ENV="production", SECRET_KEY="a-production-secret")
def test_the_session_cookie_is_secure_in_production(client, family):
    assert "Secure" in Browser(client).sign_in(family["owner"].email).headers["Set-Cookie"]


def test_a_wrong_password_is_refused_with_a_message(client, family):
    response = Browser(client).sign_in(family["owner"].email, "not the password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client, family):
    response = client.post("/dashboard/login", data={"email": family["owner"].email, "password": "x" * 20})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    browser = Browser(client)
    browser.sign_in(family["clinician"].email)
    forged = client.post(f"{patient_path(family['child']['id'])}/notes", data={"text": "forged"})
    assert forged.status_code == 400
    assert "forged" not in browser.page(patient_path(family["child"]["id"]))


def test_pages_need_a_session_and_come_back_after_sign_in(client, family):
    path = patient_path(family["child"]["id"])
    response = client.get(path)
    assert response.status_code == 302 and "/dashboard/login?next=" in response.headers["Location"]
    token = csrf_from(client.get(response.headers["Location"]).get_data(as_text=True))
    back = client.post("/dashboard/login", data={"email": family["owner"].email, "password": PASSWORD,
                                                 "csrf_token": token, "next": path})
    assert back.headers["Location"].endswith(path)


def test_next_never_leaves_the_dashboard(client, family):
    token = csrf_from(client.get("/dashboard/login").get_data(as_text=True))
    response = client.post("/dashboard/login", data={"email": family["owner"].email, "password": PASSWORD,
                                                     "csrf_token": token, "next": "https://evil.example/"})
    assert response.headers["Location"].endswith("/dashboard/")


def test_signing_out_revokes_the_session(owner_browser, family):
    client = owner_browser.client
    stolen = client.get_cookie("myodiary_session").value
    page = owner_browser.page("/dashboard/")
    assert client.post("/dashboard/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    client.set_cookie("myodiary_session", stolen)
    assert client.get("/dashboard/").status_code == 302  # the token behind the cookie is revoked


def test_pages_carry_security_headers(owner_browser):
    response = owner_browser.client.get("/dashboard/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


# ---- access -------------------------------------------------------------------------------------

def test_a_user_sees_only_children_of_their_care_teams(app, api, family, owner_browser):
    stranger = api.register("caregiver")
    other = api.create_child(stranger, name="Noor")
    assert "Noor" not in owner_browser.page("/dashboard/")
    for path in (patient_path(other["id"]), f"{patient_path(other['id'])}/export/csv",
                 f"{patient_path(other['id'])}/chart.svg"):
        response = owner_browser.client.get(path)
        assert response.status_code == 404, path
        assert "Noor" not in response.get_data(as_text=True)


def test_a_revoked_member_loses_the_page(api, client, family, clinician_browser):
    path = patient_path(family["child"]["id"])
    assert clinician_browser.client.get(path).status_code == 200
    members = client.get(f"/api/v1/children/{family['child']['id']}/members", headers=family["owner"].headers).json
    assert family["clinician"].id in [m["user_id"] for m in members["items"]]
    assert client.delete(f"/api/v1/children/{family['child']['id']}/members/{family['clinician'].id}",
                         headers=family["owner"].headers).status_code == 204
    assert clinician_browser.client.get(path).status_code == 404


# ---- notes, EEG, escaping ------------------------------------------------------------------------

def test_a_clinician_adds_and_edits_a_note_and_an_abnormal_eeg_raises_a_red_flag(client, family, clinician_browser):
    child_id = family["child"]["id"]
    path = patient_path(child_id)
    response = clinician_browser.post_form(path, f"{path}/notes", text="EEG today", eeg="abnormal")
    assert response.status_code == 302
    page = clinician_browser.page(path)
    assert "EEG today" in page and "Abnormal EEG" in page
    flags = client.get(f"/api/v1/children/{child_id}/trends", headers=family["owner"].headers).json["red_flags"]
    note = client.get(f"/api/v1/children/{child_id}/notes", headers=family["owner"].headers).json["items"][0]
    assert [f["evidence"] for f in flags if f["code"] == "abnormal_eeg"] == [[note["id"]]]
    assert f'href="#note-{note["id"]}"' in page and f'id="note-{note["id"]}"' in page
    clinician_browser.post_form(path, f"{path}/notes/{note['id']}", text="EEG reviewed: benign variant",
                                eeg="benign_variant")
    page = clinician_browser.page(path)
    assert "EEG reviewed: benign variant" in page and "Abnormal EEG" not in page


def test_caregivers_read_notes_but_cannot_write_them(client, family, owner_browser, clinician_browser):
    path = patient_path(family["child"]["id"])
    assert 'id="add-note"' not in owner_browser.page(path)
    response = owner_browser.post_form(path, f"{path}/notes", text="not allowed")
    assert response.status_code == 403
    assert "not allowed" not in clinician_browser.page(path)


def test_an_empty_note_is_refused_with_the_field_named(clinician_browser, family):
    path = patient_path(family["child"]["id"])
    clinician_browser.post_form(path, f"{path}/notes", text="   ")
    page = clinician_browser.page(path)
    assert "Note:" in page and "No notes yet." in page  # the field named as its form label


def test_markup_in_notes_is_stored_verbatim_and_shown_escaped(client, family, clinician_browser):
    path = patient_path(family["child"]["id"])
    hostile = "<script>alert('x')</script> & ' OR 1=1 --"
    clinician_browser.post_form(path, f"{path}/notes", text=hostile)
    stored = client.get(f"/api/v1/children/{family['child']['id']}/notes", headers=family["owner"].headers).json
    assert stored["items"][0]["text"] == hostile
    page = clinician_browser.page(path)
    assert "<script>alert" not in page and str(escape(hostile)) in page


# ---- audit --------------------------------------------------------------------------------------

def test_clinician_views_are_logged_and_shown_to_the_owner_only(client, family, clinician_browser, owner_browser):
    child_id = family["child"]["id"]
    clinician_browser.page(patient_path(child_id))
    client.get(f"/api/v1/children/{child_id}/trends", headers=family["clinician"].headers)
    client.get(f"/api/v1/children/{child_id}", headers=family["caregiver"].headers)  # a caregiver: not logged
    log = client.get(f"/api/v1/children/{child_id}/access-log", headers=family["owner"].headers)
    assert log.status_code == 200
    events = log.json["items"]
    assert {e["action"] for e in events} >= {"dashboard.patient_page", "trends.trends"}
    assert {e["user"]["id"] for e in events} == {family["clinician"].id}
    assert client.get(f"/api/v1/children/{child_id}/access-log",
                      headers=family["caregiver"].headers).status_code == 403
    page = owner_browser.page(patient_path(child_id))
    assert "Who viewed this diary" in page and "dashboard.patient_page" in page
    assert "Who viewed this diary" not in clinician_browser.page(patient_path(child_id))


def test_a_refused_request_leaves_no_audit_entry(client, family):
    child_id = family["child"]["id"]
    refused = client.get(f"/api/v1/children/{child_id}/episodes?cursor=not-a-cursor",
                         headers=family["clinician"].headers)
    assert refused.status_code in (400, 422)  # refused after the access check, which notes the clinician's view
    assert client.get(f"/api/v1/children/{child_id}/access-log", headers=family["owner"].headers).json["items"] == []


# ---- the list -----------------------------------------------------------------------------------

@pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)
def test_the_list_sorts_red_flags_first_and_filters(client, api, family, clinician_browser):
    clinician, owner = family["clinician"], family["owner"]
    quiet = api.create_child(owner, name="Quiet", condition="hypnic_jerks")
    api.join(owner, quiet["id"], clinician)
    rising = api.create_child(owner, name="Rising", birth_date=(date.today() - timedelta(weeks=16)).isoformat())
    api.join(owner, rising["id"], clinician)
    log_course(client, owner, rising["id"], Course(lambda week: 0.5 * 2 ** (week / 3)), seed=2)
    settled = api.create_child(owner, name="Settled", birth_date=(date.today() - timedelta(weeks=16)).isoformat())
    api.join(owner, settled["id"], clinician)
    log_course(client, owner, settled["id"], resolving(4, 3), seed=3)
    flagged = client.post(f"/api/v1/children/{family['child']['id']}/episodes",
                          json=episode_body(sleep_state="awake"), headers=owner.headers)
    assert flagged.status_code in (200, 201), flagged.json

    def names(**query):
        page = clinician_browser.page("/dashboard/", **query)
        return [n for n in ("Mila", "Quiet", "Rising", "Settled") if f">{n}</a>" in page], page

    order, page = names()
    assert order[:1] in (["Mila"], ["Rising"]) and set(order) == {"Mila", "Quiet", "Rising", "Settled"}
    assert page.index(">Settled</a>") > page.index(">Rising</a>") and page.index(">Quiet</a>") > page.index(">Mila</a>")
    assert "Worsening" in page and "Episodes while awake" in page
    assert set(names(filter="red_flags")[0]) == {"Mila", "Rising"}
    assert names(filter="worsening")[0] == ["Rising"]
    assert "Quiet" in names(filter="not_logged")[0] and "Rising" not in names(filter="not_logged")[0]
    assert names(condition="hypnic_jerks")[0] == ["Quiet"]
    none = clinician_browser.page("/dashboard/", condition="benign_myoclonus_of_infancy")
    assert "No patient matches these filters." in none


def test_an_empty_list_says_what_to_do(app, api):
    lonely = api.register("clinician")
    browser = Browser(app.test_client())
    browser.sign_in(lonely.email)
    assert "No patients yet." in browser.page("/dashboard/")


def test_a_child_without_watched_nights_has_a_useful_empty_page(family, owner_browser):
    page = owner_browser.page(patient_path(family["child"]["id"]))
    assert "No watched nights yet" in page and "No episodes logged yet." in page
    assert 'id="chart-data"' not in page


# ---- the patient page ------------------------------------------------------------------------------

@pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)
def test_the_patient_page_shows_chart_data_breakdowns_filters_and_exports(client, api, clinician_browser, family):
    child_id = family["child"]["id"]
    log_course(client, family["owner"], child_id, resolving(4, 3), weeks=6)
    path = patient_path(child_id)
    page = clinician_browser.page(path)
    assert 'id="chart-data"' in page and 'id="trend-chart"' in page and "chart.svg" in page
    assert "Sleep state" in page and "Did it stop on waking?" in page
    everything = int(page.split('id="episode-count">')[1].split(" ")[0])
    awake = clinician_browser.page(path, sleep_state="awake")
    assert int(awake.split('id="episode-count">')[1].split(" ")[0]) < everything
    for kind, mimetype in (("csv", "text/csv"), ("fhir", "application/fhir+json"), ("pdf", "application/pdf")):
        response = clinician_browser.client.get(f"{path}/export/{kind}")
        assert response.status_code == 200 and response.mimetype == mimetype, kind
    assert clinician_browser.client.get(f"{path}/export/xml").status_code == 404
    svg = clinician_browser.client.get(f"{path}/chart.svg", query_string={"age": "corrected"})
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"


# ---- episode videos -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    return Path(make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=2.0)).read_bytes()


@pytest.fixture
def episode(client, family):
    return new_episode(client, family["owner"], family["child"]["id"])


@pytest.fixture
def ready_video(app, client, family, episode, clip) -> str:
    upload(client, family["owner"], episode, clip, video_id="clip1")
    assert "1 ready" in process(app)
    return "clip1"


def access_actions(client, family) -> list[str]:
    log = client.get(f"/api/v1/children/{family['child']['id']}/access-log", headers=family["owner"].headers)
    return [event["action"] for event in log.json["items"]]


def test_a_ready_video_plays_in_its_episode_row_under_the_pages_media_policy(family, episode, ready_video,
                                                                               clinician_browser):
    response = clinician_browser.client.get(patient_path(family["child"]["id"]))
    assert response.status_code == 200
    row = episode_row(response.get_data(as_text=True), episode)
    (video,) = elements(row, "video")
    assert video["poster"] == "/dashboard/videos/clip1/poster.jpg"
    assert video["preload"] == "none" and "controls" in video
    assert elements(row, "source") == [{"src": "/dashboard/videos/clip1/content", "type": "video/mp4"}]
    page_policy = policy(response.headers["Content-Security-Policy"])
    assert page_policy["media-src"] == "'self'" and page_policy["img-src"] == "'self' data:"
    assert page_policy["default-src"] == "'self'" and page_policy["object-src"] == "'none'"
    assert policy(clinician_browser.client.get("/dashboard/").headers["Content-Security-Policy"])[
        "media-src"] == "'none'"  # only the page that plays videos may load media


def test_a_clinicians_playback_from_the_page_is_logged_and_others_get_404(app, api, client, family, ready_video,
                                                                          clinician_browser, owner_browser, clip):
    page = clinician_browser.page(patient_path(family["child"]["id"]))
    (source,) = elements(page, "source")
    (video,) = elements(page, "video")
    assert access_actions(client, family) == ["dashboard.patient_page"]
    part = clinician_browser.client.get(source["src"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.mimetype == "video/mp4" and len(part.data) == 100
    assert part.headers["Content-Range"].startswith("bytes 0-99/") and part.headers["Accept-Ranges"] == "bytes"
    assert part.headers["Cache-Control"] == "private, no-store"  # a clinic's shared computer keeps no copy
    poster = clinician_browser.client.get(video["poster"])
    assert poster.status_code == 200 and poster.mimetype == "image/jpeg" and poster.data[:3] == b"\xff\xd8\xff"
    assert access_actions(client, family)[:2] == ["dashboard.video_poster", "dashboard.video_content"]
    whole = owner_browser.client.get(source["src"])  # a caregiver plays it too, unlogged
    assert whole.status_code == 200 and whole.data == client.get(
        "/api/v1/videos/clip1/content", headers=family["owner"].headers).data
    logged = len(access_actions(client, family))
    stranger = Browser(app.test_client())
    stranger.sign_in(api.register("clinician").email)
    for path in (source["src"], video["poster"], "/dashboard/videos/nope/content", "/dashboard/videos/../content"):
        response = stranger.client.get(path)
        assert response.status_code == 404, path
        assert b"clip1" not in response.data and response.data[:3] != b"\xff\xd8\xff"
    assert len(access_actions(client, family)) == logged
    signed_out = app.test_client().get(source["src"])
    assert signed_out.status_code == 302 and "/dashboard/login" in signed_out.headers["Location"]


def test_a_video_on_its_way_shows_its_status_in_words(app, client, family, episode, clip, clinician_browser):
    owner, child_id = family["owner"], family["child"]["id"]
    upload(client, owner, episode, clip, video_id="clip1")  # all bytes in: processing
    halfway = new_episode(client, owner, child_id)
    assert create(client, owner, halfway, len(clip), video_id="clip2").status_code == 201
    assert patch(client, owner, "clip2", 0, clip[:1000]).status_code == 204
    page = clinician_browser.page(patient_path(child_id))
    processing, uploading = episode_row(page, episode), episode_row(page, halfway)
    assert "Video being processed" in processing and elements(processing, "video") == []
    assert "Video uploading" in uploading and elements(uploading, "video") == []
    assert clinician_browser.client.get("/dashboard/videos/clip1/content").status_code == 404
    assert clinician_browser.client.get("/dashboard/videos/clip2/poster.jpg").status_code == 404


def test_a_rejected_video_shows_why(app, client, family, episode, clinician_browser, tmp_path):
    upload(client, family["owner"], episode, Path(make_pdf(tmp_path / "clip.mp4")).read_bytes(), video_id="clip1")
    assert "1 rejected" in process(app)
    reason = client.get("/api/v1/videos/clip1", headers=family["owner"].headers).json["rejected_reason"]
    row = episode_row(clinician_browser.page(patient_path(family["child"]["id"])), episode)
    assert "Video not kept" in row and str(escape(reason)) in row and elements(row, "video") == []


def test_the_pages_videos_come_in_one_query(app, client, family, clip, clinician_browser):
    owner, child_id = family["owner"], family["child"]["id"]
    episodes = [new_episode(client, owner, child_id) for _ in range(3)]
    for number, episode_id in enumerate(episodes):
        upload(client, owner, episode_id, clip, video_id=f"clip{number}")
    process(app)
    deleted = new_episode(client, owner, child_id)
    upload(client, owner, deleted, clip, video_id="gone")
    assert client.delete("/api/v1/videos/gone", headers=owner.headers).status_code == 204
    pages = []
    statements = statements_of(app, lambda: pages.append(clinician_browser.page(patient_path(child_id))))
    assert len([s for s in statements if "FROM episode_videos" in s]) == 1
    assert sorted(source["src"] for source in elements(pages[0], "source")) == [
        f"/dashboard/videos/clip{number}/content" for number in range(3)]
    assert "gone" not in pages[0]


# ---- development checks, treatments, red-flag evidence -------------------------------------------

def words_of_day(days: int) -> str:
    """A day as the English dashboard writes it (Babel, British): '3 December 2026'."""
    return format_date(date.today() - timedelta(days=days), "long", locale="en_GB")


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def log_check(client, owner, child_id: str, checked_on: str, **fields) -> dict:
    body = {"checked_on": checked_on, "new_skills": "yes", "lost_skills": "no", "concerns": [], **fields}
    response = client.post(f"/api/v1/children/{child_id}/development-checks", json=body, headers=owner.headers)
    assert response.status_code == 201, response.json
    return response.json


def log_treatment(client, owner, child_id: str, **fields) -> dict:
    body = {"name": "Phenobarbital", "kind": "antiseizure_medication", "dose": "5 mg/kg/day",
            "started_on": days_ago(20), "stopped_on": None, **fields}
    response = client.post(f"/api/v1/children/{child_id}/treatments", json=body, headers=owner.headers)
    assert response.status_code == 201, response.json
    return response.json


def log_episodes(client, owner, child_id: str, *ago: int, sleep_state: str = "waking") -> list[str]:
    ids = []
    for days in ago:
        response = client.post(f"/api/v1/children/{child_id}/episodes", headers=owner.headers, json=episode_body(
            sleep_state=sleep_state, started_at=f"{days_ago(days)}T05:30:00+01:00"))
        assert response.status_code == 201, response.json
        ids.append(response.json["id"])
    return ids


def test_development_checks_are_a_timeline_newest_first_with_ages_words_and_lost_skills_standing_out(
        client, api, family, clinician_browser):
    owner = family["owner"]
    preterm = api.create_child(owner, name="Ada", birth_date=days_ago(70), gestational_weeks=32)
    api.join(owner, preterm["id"], family["clinician"])
    older = log_check(client, owner, preterm["id"], days_ago(35), concerns=["less_smiling", "feeding_difficulty"],
                      notes="Smiles less since the cold")
    newer = log_check(client, owner, preterm["id"], days_ago(7), new_skills="unsure", lost_skills="yes")
    deleted = log_check(client, owner, preterm["id"], days_ago(3))
    assert client.delete(f"/api/v1/development-checks/{deleted['id']}", headers=owner.headers).status_code == 204
    page = clinician_browser.page(patient_path(preterm["id"]))
    assert page.index(f'id="check-{newer["id"]}"') < page.index(f'id="check-{older["id"]}"')  # newest first
    assert f'id="check-{deleted["id"]}"' not in page
    first, second = check_row(page, newer["id"]), check_row(page, older["id"])
    assert 'class="check lost"' in first and "⚠ yes" in first and "not sure" in first
    assert f'datetime="{days_ago(7)}"' in first and words_of_day(7) in first  # "3 December 2026"
    assert "Age: 5 weeks, corrected 3 weeks before term" in second  # born 8 weeks early
    assert "smiles less, feeding difficulties" in second and "Smiles less since the cold" in second
    assert "lost" not in second.split(">", 1)[0] and "Concerns: <span class=\"muted\">none</span>" in first
    assert "No development check logged yet." in clinician_browser.page(patient_path(family["child"]["id"]))


def test_every_evidence_link_leads_to_something_on_the_page_and_the_spasms_pattern_comes_first(
        client, family, clinician_browser):
    owner, child_id = family["owner"], family["child"]["id"]
    stalled = log_check(client, owner, child_id, days_ago(40), new_skills="no")
    lost = log_check(client, owner, child_id, days_ago(10), new_skills="no", lost_skills="yes")
    waking = log_episodes(client, owner, child_id, 30, 12, 3)
    log_episodes(client, owner, child_id, 2, sleep_state="awake")
    path = patient_path(child_id)
    clinician_browser.post_form(path, f"{path}/notes", text="EEG today", eeg="abnormal")
    page = clinician_browser.page(path)
    links, ids = in_page_links(page)
    assert links and [link for link in links if link not in ids] == []
    pattern = flag_item(page, "spasms_pattern")
    assert f'href="#check-{lost["id"]}"' in pattern and f'href="#check-{stalled["id"]}"' in pattern
    assert all(f'href="#episode-{episode}"' in pattern for episode in waking)
    assert f'href="#check-{lost["id"]}"' in flag_item(page, "lost_skills")
    flags = [item for item in elements(page, "li") if (item.get("id") or "").startswith("flag-")]
    assert flags[0]["id"] == "flag-spasms_pattern" and "urgent" in flags[0]["class"].split()
    assert {flag["id"] for flag in flags} == {"flag-spasms_pattern", "flag-lost_skills", "flag-awake_episodes",
                                             "flag-abnormal_eeg"}
    assert "Most urgent" in pattern and "Most urgent" not in flag_item(page, "lost_skills")


def test_evidence_episodes_the_page_does_not_show_are_counted_not_linked(client, family, clinician_browser):
    owner, child_id = family["owner"], family["child"]["id"]
    lost = log_check(client, owner, child_id, days_ago(10), lost_skills="yes")
    log_episodes(client, owner, child_id, 9, 8, 7)
    log_episodes(client, owner, child_id, 6, sleep_state="asleep")
    page = clinician_browser.page(patient_path(child_id), sleep_state="asleep")  # the waking episodes filtered out
    links, ids = in_page_links(page)
    assert [link for link in links if link not in ids] == []
    pattern = flag_item(page, "spasms_pattern")
    assert f'href="#check-{lost["id"]}"' in pattern and "#episode-" not in pattern
    assert "3 episodes not among the 1 shown" in pattern


def test_treatments_are_a_table_and_bands_in_the_charts_data(client, family, clinician_browser):
    owner, child_id = family["owner"], family["child"]["id"]  # born 2026-10-01
    log_course(client, owner, child_id, resolving(4, 3), weeks=4)
    medicine = log_treatment(client, owner, child_id, started_on=days_ago(20))
    routine = log_treatment(client, owner, child_id, name="Quiet bedtime", kind="sleep_hygiene", dose=None,
                            started_on=days_ago(30), stopped_on=days_ago(16))
    gone = log_treatment(client, owner, child_id, name="Vitamin D", kind="supplement")
    assert client.delete(f"/api/v1/treatments/{gone['id']}", headers=owner.headers).status_code == 204
    page = clinician_browser.page(patient_path(child_id))
    rows = [row["id"] for row in elements(page, "tr") if (row.get("id") or "").startswith("treatment-")]
    assert rows == [f"treatment-{medicine['id']}", f"treatment-{routine['id']}"]  # newest start first
    given = page[page.index(f'id="treatment-{medicine["id"]}"'):]
    given = given[:given.index("</tr>")]
    assert "Phenobarbital" in given and "5 mg/kg/day" in given and "Anti-seizure medicine" in given
    assert f"from {words_of_day(20)}, ongoing" in text_of(given)
    trends = client.get(f"/api/v1/children/{child_id}/trends", headers=owner.headers).json
    (sentence,) = [t["comparison"]["summary"] for t in trends["treatments"] if t["id"] == medicine["id"]]
    assert sentence and f'<td class="comparison">{escape(sentence)}</td>' in given
    stopped = page[page.index(f'id="treatment-{routine["id"]}"'):]
    stopped = stopped[:stopped.index("</tr>")]
    assert f"from {words_of_day(30)} to {words_of_day(16)}" in text_of(stopped) and "not a medicine" in stopped
    assert "Vitamin D" not in page
    chart = json.loads(page.split('<script type="application/json" id="chart-data">')[1].split("</script>")[0])

    def age(day: str) -> float:  # chronological weeks, as every age of the chart's data
        return round((date.fromisoformat(day) - date(2026, 10, 1)).days / 7, 3)

    child_today = datetime.now(ZoneInfo(family["child"]["timezone"])).date().isoformat()  # an ongoing one ends
    assert chart["treatments"] == [
        {"id": routine["id"], "name": "Quiet bedtime", "start": age(days_ago(30)), "end": age(days_ago(16)),
         "ongoing": False},
        {"id": medicine["id"], "name": "Phenobarbital", "start": age(days_ago(20)), "end": age(child_today),
         "ongoing": True}]


def test_the_list_puts_the_spasms_pattern_before_other_red_flags(client, api, family, clinician_browser):
    owner = family["owner"]
    awake = api.create_child(owner, name="Aaron")  # by name before Mila, and flagged too
    api.join(owner, awake["id"], family["clinician"])
    log_episodes(client, owner, awake["id"], 3, sleep_state="awake")
    log_check(client, owner, family["child"]["id"], days_ago(10), lost_skills="yes")
    log_episodes(client, owner, family["child"]["id"], 9, 8, 7)
    page = clinician_browser.page("/dashboard/")
    assert page.index(">Mila</a>") < page.index(">Aaron</a>")
    assert "Episodes while awake" in page and "Waking clusters with lost or stalled development" in page


def test_the_report_kept_with_the_summary_still_carries_the_treatments(client, family, clinician_browser):
    owner, child_id = family["owner"], family["child"]["id"]
    log_course(client, owner, child_id, resolving(4, 3), weeks=4)
    medicine = log_treatment(client, owner, child_id, started_on=days_ago(20))
    client.get("/api/v1/children", headers=owner.headers)  # its first reader keeps today's report with the summary
    page = clinician_browser.page(patient_path(child_id))  # the default page reads that kept report
    trends = client.get(f"/api/v1/children/{child_id}/trends", headers=owner.headers).json
    (sentence,) = [t["comparison"]["summary"] for t in trends["treatments"] if t["id"] == medicine["id"]]
    assert f'<td class="comparison">{escape(sentence)}</td>' in page
