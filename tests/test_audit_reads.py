"""Every read of a child's data by one of its clinicians is in the access log, lists and the sync pull too.

One row per child per request, written after a successful response; never for a caregiver's read.
Security review, issue 17, finding 4.
"""
import pytest

from tests.dashboard_helpers import Browser
from tests.helpers import episode_body, statements_of
from tests.sync_helpers import Phone


@pytest.fixture
def children(api, family):
    """The family's child and two more of the same owner, all three in the clinician's care."""
    owner, clinician = family["owner"], family["clinician"]
    more = [api.create_child(owner, name=name) for name in ("Noah", "Ada")]
    for child in more:
        api.join(owner, child["id"], clinician)
    return [family["child"]["id"], *(child["id"] for child in more)]


def access_log(client, family, child_id: str) -> list[tuple[str, str]]:
    """(user id, action) of each access-log row of the child, as its owner reads them."""
    response = client.get(f"/api/v1/children/{child_id}/access-log", headers=family["owner"].headers,
                          query_string={"limit": 500})
    assert response.status_code == 200, response.json
    return sorted((event["user"]["id"], event["action"]) for event in response.json["items"])


def logs(client, family, child_ids) -> dict[str, list[tuple[str, str]]]:
    return {child_id: access_log(client, family, child_id) for child_id in child_ids}


def signed_in(app, account) -> Browser:
    browser = Browser(app.test_client())
    assert browser.sign_in(account.email).status_code == 302
    return browser


def insert_statements(app, send) -> list[str]:
    """The INSERT statements into access_events that `send` makes the server run."""
    return [statement for statement in statements_of(app, send) if "INSERT INTO access_events" in statement]


def test_a_clinicians_pull_logs_each_child_whose_data_it_received(client, family, children):
    clinician = family["clinician"].id
    phone = Phone(client, family["clinician"], "clinicphone")
    phone.pull()
    assert logs(client, family, children) == {child_id: [(clinician, "sync.pull")] for child_id in children}
    phone.pull()  # nothing new: nothing read
    assert all(len(log) == 1 for log in logs(client, family, children).values())
    first, *others = children
    logged = client.post(f"/api/v1/children/{first}/episodes", json=episode_body(notes="EEG booked"),
                         headers=family["owner"].headers)
    assert logged.status_code == 201
    (episode,) = phone.pull()["episodes"]["created"]
    assert episode["notes"] == "EEG booked"
    after = logs(client, family, children)
    assert after[first] == [(clinician, "sync.pull")] * 2 and all(len(after[other]) == 1 for other in others)


def test_a_clinicians_children_list_logs_each_child_listed(client, family, children):
    clinician = family["clinician"]
    listed = client.get("/api/v1/children", headers=clinician.headers)
    assert listed.status_code == 200 and len(listed.json["items"]) == 3
    assert logs(client, family, children) == {
        child_id: [(clinician.id, "children.list_children")] for child_id in children}
    page = client.get("/api/v1/children", headers=clinician.headers, query_string={"limit": 1}).json
    (shown,) = [child["id"] for child in page["items"]]
    assert {child_id: len(log) for child_id, log in logs(client, family, children).items()} == {
        child_id: 2 if child_id == shown else 1 for child_id in children}


def test_the_dashboard_list_logs_each_patient_in_one_insert(app, client, family, children):
    browser = signed_in(app, family["clinician"])
    inserts = insert_statements(app, lambda: browser.page("/dashboard/"))
    assert len(inserts) == 1, "one batched INSERT for the whole list"
    assert logs(client, family, children) == {
        child_id: [(family["clinician"].id, "dashboard.patients_list")] for child_id in children}
    browser.page(f"/dashboard/children/{children[1]}")
    assert access_log(client, family, children[1]) == [
        (family["clinician"].id, "dashboard.patient_page"), (family["clinician"].id, "dashboard.patients_list")]


def test_caregivers_reads_are_not_logged(app, client, family, children):
    for account in (family["owner"], family["caregiver"]):
        Phone(client, account, f"phone-{account.id}").pull()
        assert client.get("/api/v1/children", headers=account.headers).status_code == 200
        signed_in(app, account).page("/dashboard/")
    assert all(log == [] for log in logs(client, family, children).values())
    assert client.get("/api/v1/children", headers=family["clinician"].headers).status_code == 200
    assert {user for log in logs(client, family, children).values() for user, _ in log} == {family["clinician"].id}


def test_a_failed_request_leaves_no_audit_entry(app, client, family, children):
    clinician = family["clinician"]
    bad_pull = client.get("/api/v1/sync", headers=clinician.headers, query_string={"last_pulled_at": "soon"})
    bad_list = client.get("/api/v1/children", headers=clinician.headers, query_string={"cursor": "nonsense"})
    assert (bad_pull.status_code, bad_list.status_code) == (422, 422)
    browser = signed_in(app, clinician)
    assert browser.client.get(f"/dashboard/children/{children[0]}/export/nonsense").status_code == 404
    assert all(log == [] for log in logs(client, family, children).values())
    assert client.get("/api/v1/children", headers=clinician.headers).status_code == 200
    assert all(len(log) == 1 for log in logs(client, family, children).values())
