"""Signed-in devices (issue 21 item 6): the account's tokens and dashboard sessions, listed without their
secrets, the caller's own marked, each one endable; last use kept to the hour; a new device is emailed."""
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from backend.accounts.emails import send_account_emails
from backend.accounts.models import AccountEmail
from backend.extensions import db
from tests.dashboard_helpers import Browser
from tests.helpers import PASSWORD, assert_error, statements_of, text_of

FIELDS = {"id", "kind", "device_name", "created_at", "last_used_at", "current"}


def sign_in(client, account, device_name: str | None = None) -> dict:
    body = {"email": account.email, "password": PASSWORD, **({"device_name": device_name} if device_name else {})}
    response = client.post("/api/v1/tokens", json=body)
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def devices(client, headers) -> list[dict]:
    response = client.get("/api/v1/me/tokens", headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["next_cursor"] is None
    return response.json["items"]


def test_the_list_shows_every_live_token_without_its_secret_and_marks_the_callers_own(client, api):
    account = api.register()
    phone = sign_in(client, account, device_name="Anna's phone")
    Browser(client).sign_in(account.email)
    listed = devices(client, phone)
    assert [item["kind"] for item in listed] == ["dashboard", "api", "api"]  # newest first
    assert all(set(item) == FIELDS for item in listed)
    assert [item["current"] for item in listed] == [False, True, False]
    assert listed[1]["device_name"] == "Anna's phone"
    body = client.get("/api/v1/me/tokens", headers=phone).get_data(as_text=True)
    assert account.token not in body and phone["Authorization"].split()[1] not in body
    assert client.delete("/api/v1/tokens", headers=account.headers).status_code == 204
    assert len(devices(client, phone)) == 2  # a signed-out token is gone from the list


def test_ending_a_device_stops_its_token_and_another_accounts_is_a_404(client, api):
    account, stranger = api.register(), api.register()
    phone = sign_in(client, account)
    first = next(item for item in devices(client, phone) if not item["current"])
    assert client.delete(f"/api/v1/me/tokens/{first['id']}", headers=phone).status_code == 204
    assert_error(client.get("/api/v1/me", headers=account.headers), 401)
    assert_error(client.delete(f"/api/v1/me/tokens/{first['id']}", headers=phone), 404)  # already ended
    theirs = devices(client, stranger.headers)[0]["id"]
    assert_error(client.delete(f"/api/v1/me/tokens/{theirs}", headers=phone), 404)
    assert client.get("/api/v1/me", headers=stranger.headers).status_code == 200
    assert_error(client.delete("/api/v1/me/tokens/no-such-token", headers=phone), 404)


def test_last_use_is_kept_to_the_hour_and_written_at_most_once_an_hour(app, client, api):
    account = api.register()
    hour = (datetime.now(UTC) + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    with time_machine.travel(hour + timedelta(minutes=20), tick=False):
        assert client.get("/api/v1/me", headers=account.headers).status_code == 200
        assert devices(client, account.headers)[0]["last_used_at"] == hour.isoformat()
    with time_machine.travel(hour + timedelta(minutes=50), tick=False):
        seen = statements_of(app, lambda: client.get("/api/v1/me", headers=account.headers))
        assert not [sql for sql in seen if sql.upper().startswith("UPDATE TOKENS")]
    with time_machine.travel(hour + timedelta(minutes=65), tick=False):
        seen = statements_of(app, lambda: client.get("/api/v1/me", headers=account.headers))
        assert [sql for sql in seen if sql.upper().startswith("UPDATE TOKENS")]
        assert devices(client, account.headers)[0]["last_used_at"] == (hour + timedelta(hours=1)).isoformat()


def test_a_new_device_is_emailed_but_the_first_sign_in_of_a_new_account_is_not(app, client, api, smtp):
    account = api.register()
    with app.app_context():
        assert not db.session.scalars(select(AccountEmail).where(AccountEmail.kind == "new_device")).all()
    sign_in(client, account, device_name="Tablet in the kitchen")
    Browser(client).client.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
    Browser(client).sign_in(account.email)
    with app.app_context():
        send_account_emails()
    received = [text_of(message) for message in smtp.to(account.email)]
    assert len(received) == 2
    assert "new sign-in to your Myodiary account on " in received[0]
    assert ": Tablet in the kitchen." in received[0]
    assert ": Dashboard (Firefox on Linux)." in received[1]
    assert all("/dashboard/account" in text for text in received)
