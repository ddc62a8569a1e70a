"""A signed-in browser, as the test client sees the dashboard: forms with their CSRF token."""
import re
from html.parser import HTMLParser

from tests.helpers import PASSWORD

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
        response = self.client.get(path, query_string=query)
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
