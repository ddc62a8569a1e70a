"""The dashboard at size (issue 23): the patient page's episodes a page at a time, newest first, with the filters
kept by every page link and the calendar weeks headed on every page; the patient list found by name and paged,
urgent first across pages."""
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest

from backend.dashboard import labels, patients
from backend.dashboard.patient import EPISODES_PER_PAGE
from tests.dashboard_helpers import Browser, elements, text_of
from tests.helpers import episode_body

EPISODES = 130  # three pages of EPISODES_PER_PAGE
SAME_INSTANT = 3  # episodes sharing a start: pages must split such a tie without losing or doubling one
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def clinician_browser(app, family):
    browser = Browser(app.test_client())
    assert browser.sign_in(family["clinician"].email).status_code == 302
    return browser


@pytest.fixture
def diary(client, family) -> list[dict]:
    """EPISODES episodes over about six weeks, three to an instant, asleep and waking in turn; newest first as the
    page orders them (started_at, then id, both descending)."""
    owner, child_id = family["owner"], family["child"]["id"]
    newest = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0) - timedelta(days=1)
    logged = []
    for number in range(EPISODES):
        started = newest - timedelta(hours=8 * (number // SAME_INSTANT))
        response = client.post(f"/api/v1/children/{child_id}/episodes", headers=owner.headers, json=episode_body(
            started_at=started.isoformat(), sleep_state="asleep" if number % 2 else "waking"))
        assert response.status_code == 201, response.json
        logged.append({"id": response.json["id"], "started_at": started, "sleep_state": response.json["sleep_state"]})
    return sorted(logged, key=lambda e: (e["started_at"], e["id"]), reverse=True)


def episode_ids(page: str) -> list[str]:
    return re.findall(r'<tr id="episode-([^"]+)"', page)


def link(page: str, css_class: str) -> str | None:
    """The href of the pager's link of this class (the top pager's), unescaped."""
    found = [a["href"] for a in elements(page, "a") if a.get("class") == css_class]
    return unescape(found[0]) if found else None


def count_line(page: str) -> str:
    start = page.index('id="episode-count">')
    return text_of(page[start + len('id="episode-count">'):page.index("</p>", start)])


def walk(browser, path: str, direction: str, **query) -> list[str]:
    """Every page from `path` on, following the pager's `direction` link ("older" or "newer") to its end."""
    pages = [browser.page(path, **query)]
    while next_link := link(pages[-1], direction):
        assert next_link.endswith("#episodes")
        pages.append(browser.page(next_link.removesuffix("#episodes")))
        assert len(pages) <= EPISODES, "the pager goes round in circles"
    return pages


def path_of(family) -> str:
    return f"/dashboard/children/{family['child']['id']}"


def test_every_episode_is_on_exactly_one_page_newest_first_and_back_again(family, diary, clinician_browser):
    pages = walk(clinician_browser, path_of(family), "older")
    assert [len(episode_ids(page)) for page in pages] == [EPISODES_PER_PAGE, EPISODES_PER_PAGE, 30]
    assert [i for page in pages for i in episode_ids(page)] == [e["id"] for e in diary]
    assert count_line(pages[0]) == "130 episodes; 1 to 50 shown, newest first."
    assert count_line(pages[1]) == "130 episodes; 51 to 100 shown, newest first."
    assert count_line(pages[2]) == "130 episodes; 101 to 130 shown, newest first."
    assert link(pages[0], "newer") is None and link(pages[0], "newest") is None and link(pages[-1], "older") is None
    back = walk(clinician_browser, link(pages[-1], "newer").removesuffix("#episodes"), "newer")
    assert [episode_ids(page) for page in back] == [episode_ids(page) for page in reversed(pages[:-1])]
    assert link(pages[-1], "newest").removesuffix("#episodes") == path_of(family)


def test_the_filters_are_kept_by_every_page_link(family, diary, clinician_browser):
    day_from = (diary[-1]["started_at"] + timedelta(days=3)).date().isoformat()
    query = {"sleep_state": "asleep", "from": day_from, "age": "chronological"}
    pages = walk(clinician_browser, path_of(family), "older", **query)
    expected = [e["id"] for e in diary if e["sleep_state"] == "asleep"
                and e["started_at"].astimezone(BERLIN).date().isoformat() >= day_from]
    assert [i for page in pages for i in episode_ids(page)] == expected and len(pages) == 2
    for page in pages:
        for css_class in ("older", "newer", "newest"):
            if href := link(page, css_class):
                assert all(f"{name}={value}" in href for name, value in query.items()), href
    assert count_line(pages[1]).startswith(f"{len(expected)} episodes; 51 to {len(expected)} shown")


def test_each_page_heads_its_calendar_weeks(app, family, diary, clinician_browser):
    by_id = {e["id"]: e for e in diary}
    for page in walk(clinician_browser, path_of(family), "older"):
        start = page.index('<table class="episodes">')
        table = page[start:page.index("</table>", start)]
        rows = re.findall(r'<tr class="week"><th[^>]*>([^<]+)</th></tr>|<tr id="episode-([^"]+)"', table)
        assert rows[0][0], "a page starts with its first episode's week"
        heading = None
        with app.test_request_context():
            for week_words, episode_id in rows:
                if week_words:
                    assert week_words != heading, "a week is headed once on a page"
                    heading = week_words
                    continue
                week = labels.week_start(by_id[episode_id]["started_at"], "Europe/Berlin")
                assert heading == f"Week of {labels.local_day(week)}"


def test_a_cursor_the_page_did_not_make_shows_the_newest_page(family, diary, clinician_browser):
    newest = episode_ids(clinician_browser.page(path_of(family)))
    for query in ({"before": "not-a-cursor"}, {"after": "e30"}, {"before": ""}):
        assert episode_ids(clinician_browser.page(path_of(family), **query)) == newest


def test_a_short_diary_has_no_pager(client, family, clinician_browser):
    response = client.post(f"/api/v1/children/{family['child']['id']}/episodes", headers=family["owner"].headers,
                           json=episode_body())
    assert response.status_code == 201
    page = clinician_browser.page(path_of(family))
    assert count_line(page) == "1 episode." and 'class="pager"' not in page


# ---- the patient list --------------------------------------------------------------------------------

NAMES = ("Ana", "anabel", "Bruno", "Carla", "Dario", "Zed", "Yara")


@pytest.fixture
def clinic(client, api, family, monkeypatch) -> dict:
    """The family's Mila and NAMES in one clinician's list, two to a page; Zed with a red flag (an awake episode)."""
    monkeypatch.setattr(patients, "PATIENTS_PER_PAGE", 2)
    owner, clinician = family["owner"], family["clinician"]
    children = {"Mila": family["child"]["id"]}
    for name in NAMES:
        children[name] = api.create_child(owner, name=name)["id"]
        api.join(owner, children[name], clinician)
    flagged = client.post(f"/api/v1/children/{children['Zed']}/episodes", headers=owner.headers,
                          json=episode_body(sleep_state="awake"))
    assert flagged.status_code == 201, flagged.json
    return children


def names_on(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', page)


def list_pages(browser, **query) -> list[str]:
    pages = [browser.page("/dashboard/", **query)]
    while href := link(pages[-1], "next"):
        pages.append(browser.page(href))
        assert len(pages) < 20
    return pages


def test_the_list_pages_keep_the_urgent_first_order(clinic, clinician_browser):
    pages = list_pages(clinician_browser)
    assert [len(names_on(page)) for page in pages] == [2, 2, 2, 2]
    everyone = [name for page in pages for name in names_on(page)]
    assert everyone[0] == "Zed" and sorted(everyone[1:], key=str.lower) == everyone[1:]
    assert set(everyone) == set(clinic)
    assert "Page 1 of 4." in pages[0] and "8 patients;" in pages[3] and link(pages[0], "previous") is None
    assert names_on(clinician_browser.page(link(pages[2], "previous"))) == names_on(pages[1])
    assert names_on(clinician_browser.page("/dashboard/", page="99")) == names_on(pages[3])
    assert names_on(clinician_browser.page("/dashboard/", page="x")) == names_on(pages[0])


def test_the_list_finds_names_case_insensitively_and_pages_keep_the_search(clinic, clinician_browser):
    pages = list_pages(clinician_browser, q="ANA")
    assert [name for page in pages for name in names_on(page)] == ["Ana", "anabel"]
    pages = list_pages(clinician_browser, q="a", filter="not_logged")
    found = [name for page in pages for name in names_on(page)]
    assert found == sorted((n for n in clinic if "a" in n.lower() and n != "Zed"), key=str.lower)
    assert len(pages) == 3
    for page in pages:
        for css_class in ("next", "previous"):
            if href := link(page, css_class):
                assert "q=a" in href and "filter=not_logged" in href
    assert 'value="a"' in pages[0]
    nobody = clinician_browser.page("/dashboard/", q="%")
    assert names_on(nobody) == [] and "No patient matches these filters." in nobody
