"""One JSON error shape for every failure, whatever raised it."""
import json
import logging

import pytest

from backend.accounts.models import User
from backend.extensions import db
from tests.helpers import PASSWORD, assert_error


def test_unknown_paths_are_json_404(client):
    body = assert_error(client.get("/api/v1/no-such-thing"), 404)
    assert body["status"] == "Not Found"


def test_wrong_methods_are_json_405(client):
    assert_error(client.put("/api/v1/me"), 405)


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/users", data='{"email": "a@example.org",',
                           content_type="application/json")
    assert_error(response, 400)


def test_a_body_that_is_not_an_object_is_422(client):
    assert_error(client.post("/api/v1/users", json=["not", "an", "object"]), 422)


def test_wrong_types_name_the_field(client):
    response = client.post("/api/v1/users", json={
        "email": ["a@example.org"], "password": PASSWORD, "name": "A", "role": "caregiver"})
    assert_error(response, 422, field="email")


def test_a_body_over_the_limit_is_413_and_nothing_is_stored(client, api):
    owner = api.register()
    huge = {"name": "x" * (70 * 1024), "birth_date": "2026-10-01", "timezone": "Europe/Berlin"}
    body = assert_error(client.post("/api/v1/children", json=huge, headers=owner.headers), 413)
    assert "65,536 bytes" in body["message"]  # the number in the reader's format (English here)
    assert client.get("/api/v1/children", headers=owner.headers).json["items"] == []


@pytest.mark.fresh_app  # it adds a route
def test_unexpected_failures_are_500_without_internals(app, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/api/v1/test-only/crash")
    def crash():
        raise RuntimeError("secret internal detail")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/v1/test-only/crash")
    body = assert_error(response, 500)
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert body["message"] == "Internal server error."
    assert "secret internal detail" in caplog.text


@pytest.mark.fresh_app  # it adds a route
def test_integrity_errors_are_409_and_roll_back(app):
    @app.post("/api/v1/test-only/duplicate")
    def duplicate():
        for _ in range(2):
            db.session.add(User(email="twin@example.org", name="Twin", role="caregiver",
                                password_hash="x"))
        db.session.commit()

    client = app.test_client()
    assert_error(client.post("/api/v1/test-only/duplicate"), 409)
    response = client.post("/api/v1/users", json={
        "email": "after@example.org", "password": PASSWORD, "name": "After", "role": "caregiver"})
    assert response.status_code == 201


def test_errors_are_json_even_for_html_clients(client):
    response = client.get("/api/v1/nothing-here", headers={"Accept": "text/html"})
    assert response.mimetype == "application/json"
    assert_error(response, 404)


def test_a_json_body_without_a_json_content_type_is_415_naming_it(client):
    """Issue 21: a page can post text/plain or a form cross-site without a preflight; JSON routes refuse both."""
    body = json.dumps({"email": "raw@example.org", "password": PASSWORD, "name": "Raw", "role": "caregiver"})
    for content_type in ("", "text/plain", "application/x-www-form-urlencoded"):
        response = client.post("/api/v1/users", data=body, headers={"Content-Type": content_type})
        assert_error(response, 415, "Content-Type")
    assert client.post("/api/v1/users", data=body, content_type="application/json; charset=utf-8").status_code == 201


def test_the_sync_push_reads_json_sent_without_a_content_type(client, api):
    """WatermelonDB's client posts its changes with no Content-Type: the sync push alone reads them anyway."""
    account = api.register()
    pulled = client.get("/api/v1/sync", headers=account.headers).json
    nothing = json.dumps({"episodes": {"created": [], "updated": [], "deleted": []}})
    response = client.post(f"/api/v1/sync?last_pulled_at={pulled['timestamp']}",
                           headers={**account.headers, "Content-Type": ""}, data=nothing)
    assert response.status_code == 200, response.json


def test_a_form_body_is_not_a_list_of_missing_fields(client):
    response = client.post("/api/v1/users", data={"email": "form@example.org"})
    assert_error(response, 415, "Content-Type")
