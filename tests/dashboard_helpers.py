"""A signed-in browser, as the test client sees the dashboard: forms with their CSRF token."""
import re
from datetime import date, timedelta
from html.parser import HTMLParser

from backend.diary.simulation import resolving
from tests.helpers import PASSWORD, episode_body
from tests.sync_helpers import log_course

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(page: str) -> str:
    found = CSRF_FIELD.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


class Browser:
    """One session cookie jar (a Flask test client) signed in to the dashboard."""

    def __init__(self, client):
        self.client = client

    def sign_in(self, email: str, password: str = PASSWORD):
        token = csrf_from(self.client.get("/dashboard/login").get_data(as_text=True))
        return self.client.post("/dashboard/login", data={"email": email, "password": password,
                                                          "csrf_token": token})

    def page(self, path: str, **query) -> str:
        response = self.client.get(path, query_string=query or None)  # a link's own query, or these
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)

    def post_form(self, form_page: str, path: str, **fields):
        return self.client.post(path, data={"csrf_token": csrf_from(self.page(form_page)), **fields})


class _Elements(HTMLParser):
    def __init__(self, tag: str):
        super().__init__()
        self.tag, self.found = tag, []

    def handle_starttag(self, tag, attrs):
        if tag == self.tag:
            self.found.append(dict(attrs))

    handle_startendtag = handle_starttag


def elements(page: str, tag: str) -> list[dict]:
    """The attributes of every `tag` element of the page, in order (a valueless attribute maps to None)."""
    parser = _Elements(tag)
    parser.feed(page)
    return parser.found


def episode_row(page: str, episode_id: str) -> str:
    """The HTML of one row of the episode table."""
    start = page.index(f'<tr id="episode-{episode_id}"')
    return page[start:page.index("</tr>", start)]


def policy(header: str) -> dict[str, str]:
    """A Content-Security-Policy header as {directive: sources}."""
    return {name: value.strip() for name, _, value in
            (part.strip().partition(" ") for part in header.split(";") if part.strip())}


class _Fragments(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and (attributes.get("href") or "").startswith("#"):
            self.links.append(attributes["href"][1:])

    handle_startendtag = handle_starttag


def in_page_links(page: str) -> tuple[list[str], set[str]]:
    """The targets of the page's `href="#..."` links, in order, and every element id of the page."""
    parser = _Fragments()
    parser.feed(page)
    return parser.links, parser.ids


def check_row(page: str, check_id: str) -> str:
    """The HTML of one development check of the timeline."""
    start = page.index(f'<li id="check-{check_id}"')
    return page[start:page.index("</li>", start)]


def flag_item(page: str, code: str) -> str:
    """The HTML of one red flag of the patient page."""
    start = page.index(f'id="flag-{code}"')
    return page[page.rindex("<li", 0, start):page.index("</li>", start)]


def text_of(fragment: str) -> str:
    """An HTML fragment's text, tags dropped."""
    return re.sub(r"<[^>]+>", "", fragment)


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def rename(client, account, name: str, locale: str | None = None) -> None:
    """A person's name (not an English word, so that data never reads as English left untranslated) and locale."""
    body = {"name": name} | ({"locale": locale} if locale else {})
    response = client.patch("/api/v1/me", json=body, headers=account.headers)
    assert response.status_code == 200, response.json


def a_clinic_with_everything(client, api, child_name: str = "Zoë Ŋ") -> dict:
    """A preterm child with ten weeks of diary (a verdict, rates), an awake episode (a red flag), a medicine, a
    development check with lost skills, a clinician's note with an EEG, reminders on; its owner and clinician
    named "Ilka" and "Dr Ŋuyen"."""
    owner, clinician = api.register("caregiver"), api.register("clinician")
    rename(client, owner, "Ilka")
    rename(client, clinician, "Dr Ŋuyen")
    child = api.create_child(owner, name=child_name, birth_date=days_ago(14 * 7), gestational_weeks=33)
    api.join(owner, child["id"], clinician)
    log_course(client, owner, child["id"], resolving(5, 3), weeks=10)
    awake = client.post(f"/api/v1/children/{child['id']}/episodes", headers=owner.headers, json=episode_body(
        sleep_state="awake", stopped_when_woken="no", started_at=f"{days_ago(2)}T21:00:00+01:00", notes="Ŋoŋo"))
    assert awake.status_code == 201, awake.json
    given = client.post(f"/api/v1/children/{child['id']}/treatments", headers=owner.headers, json={
        "name": "Luminaletas", "kind": "antiseizure_medication", "dose": "5 mg/kg", "started_on": days_ago(28),
        "stopped_on": days_ago(14)})
    assert given.status_code == 201, given.json
    check = client.post(f"/api/v1/children/{child['id']}/development-checks", headers=owner.headers, json={
        "checked_on": days_ago(10), "new_skills": "no", "lost_skills": "yes", "concerns": ["less_eye_contact"]})
    assert check.status_code == 201, check.json
    note = client.post(f"/api/v1/children/{child['id']}/notes", headers=clinician.headers,
                       json={"text": "Ŋoŋo ŋa", "eeg": "normal"})
    assert note.status_code == 201, note.json
    schedule = client.put(f"/api/v1/children/{child['id']}/reminder-schedule", headers=owner.headers,
                          json={"cadence": "weekly", "weekday": "monday", "local_time": "20:00"})
    assert schedule.status_code == 200, schedule.json
    return {"owner": owner, "clinician": clinician, "child": child, "check": check.json, "treatment": given.json}
