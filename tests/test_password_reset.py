"""Password reset and change (issue 21 items 2, 3 and 8): the same answer for every address, a single-use link
followed from the email's own text (a real SMTP server), expiry, and every session ended."""
import statistics
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from sqlalchemy import func, select

from backend.accounts.emails import send_account_emails
from backend.accounts.models import AccountEmail, PasswordReset
from backend.accounts.resets import ANSWER_SECONDS
from backend.db_types import utcnow
from backend.extensions import db
from tests.dashboard_helpers import Browser, csrf_from
from tests.helpers import PASSWORD, assert_error, link_in, text_of

NEW_PASSWORD = "a quiet morning at last"


def ask_reset(client, email: str):
    return client.post("/api/v1/password-resets", json={"email": email})


def send(app) -> None:
    with app.app_context():
        send_account_emails()


def reset_token(app, smtp, email: str) -> str:
    """The token of the newest reset link sent to this address, read from the email's own text."""
    send(app)
    resets = [message for message in smtp.to(email) if "new password" in message["Subject"].lower()]
    assert resets, [message["Subject"] for message in smtp.to(email)]
    link = link_in(resets[-1], "/dashboard/reset-password")
    return parse_qs(urlsplit(link).query)["token"][0]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def me(client, account):
    return client.get("/api/v1/me", headers=account.headers)


def test_known_and_unknown_addresses_get_the_same_answer(app, client, api):
    account = api.register()
    known, unknown = ask_reset(client, account.email), ask_reset(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    assert "If an account has this address" in known.get_json()["message"]
    assert count(app, PasswordReset) == 1


def test_the_link_in_the_email_sets_the_password_once_and_ends_every_session(app, client, api, smtp):
    account = api.register()
    second_token = api.sign_in(account.email)
    assert ask_reset(client, account.email.upper()).status_code == 202
    token = reset_token(app, smtp, account.email)
    assert client.post(f"/api/v1/password-resets/{token}", json={"password": NEW_PASSWORD}).status_code == 204
    assert_error(me(client, account), 401)
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {second_token}"}), 401)
    assert_error(client.post("/api/v1/tokens", json={"email": account.email, "password": PASSWORD}), 401)
    assert api.sign_in(account.email, NEW_PASSWORD)
    assert_error(client.post(f"/api/v1/password-resets/{token}", json={"password": "another new phrase"}), 410)
    send(app)
    (changed,) = [m for m in smtp.to(account.email) if m["Subject"] == "Your Myodiary password was changed"]
    assert "reset with a link" in text_of(changed)


def test_an_unknown_token_is_404_and_the_stored_hash_is_not_the_token(app, client, api, smtp):
    account = api.register()
    ask_reset(client, account.email)
    token = reset_token(app, smtp, account.email)
    with app.app_context():
        stored = db.session.scalar(select(PasswordReset.token_hash))
    assert token not in stored and len(stored) == 64
    assert_error(client.post(f"/api/v1/password-resets/{stored}", json={"password": NEW_PASSWORD}), 404)
    assert_error(client.post("/api/v1/password-resets/made-up", json={"password": NEW_PASSWORD}), 404)


@pytest.mark.config(PASSWORD_RESET_MINUTES=60)
def test_a_link_expires_after_the_configured_minutes(app, client, api, smtp):
    account = api.register()
    start = utcnow()
    with time_machine.travel(start, tick=False):
        ask_reset(client, account.email)
        token = reset_token(app, smtp, account.email)
    with time_machine.travel(start + timedelta(minutes=60, seconds=1), tick=False):
        assert_error(client.post(f"/api/v1/password-resets/{token}", json={"password": NEW_PASSWORD}), 410)
    assert api.sign_in(account.email)


def test_a_new_password_ends_the_other_open_links(app, client, api, smtp):
    account = api.register()
    ask_reset(client, account.email)
    first = reset_token(app, smtp, account.email)
    ask_reset(client, account.email)
    second = reset_token(app, smtp, account.email)
    assert client.post(f"/api/v1/password-resets/{second}", json={"password": NEW_PASSWORD}).status_code == 204
    assert_error(client.post(f"/api/v1/password-resets/{first}", json={"password": "yet another phrase"}), 410)


@pytest.mark.config(PASSWORD_RESETS_PER_ACCOUNT="2 per hour")
def test_past_the_accounts_limit_the_answer_is_the_same_and_nothing_is_sent(app, client, api):
    account = api.register()
    answers = [ask_reset(client, account.email) for _ in range(4)]
    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.get_data() for answer in answers}) == 1
    assert count(app, PasswordReset) == 2
    with app.app_context():
        kinds = db.session.scalars(select(AccountEmail.kind)).all()
    assert kinds.count("password_reset") == 2


@pytest.mark.config(PASSWORD_RESETS_PER_ADDRESS="3 per hour")
def test_one_client_address_is_limited(client):
    answers = [ask_reset(client, f"someone{n}@example.org").status_code for n in range(4)]
    assert answers == [202, 202, 202, 429]


def test_a_deleted_account_gets_no_link(app, client, api):
    account = api.register()
    assert client.delete("/api/v1/me", headers=account.headers, json={"password": PASSWORD}).status_code == 204
    assert ask_reset(client, account.email).status_code == 202
    assert count(app, PasswordReset) == 0


def test_changing_the_password_ends_every_other_session_and_tells_the_address(app, client, api, smtp):
    account = api.register()
    other_token = api.sign_in(account.email)
    response = client.put("/api/v1/me/password", headers=account.headers,
                          json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204
    assert me(client, account).status_code == 200
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_token}"}), 401)
    assert api.sign_in(account.email, NEW_PASSWORD)
    send(app)
    (changed,) = [m for m in smtp.to(account.email) if m["Subject"] == "Your Myodiary password was changed"]
    assert "Every other device" in text_of(changed)


def test_a_wrong_current_password_is_named_and_changes_nothing(client, api):
    account = api.register()
    body = assert_error(client.put("/api/v1/me/password", headers=account.headers,
                                   json={"current_password": "not the password", "new_password": NEW_PASSWORD}),
                        422, "current_password")
    assert "new_password" not in body["errors"]
    assert api.sign_in(account.email)


@pytest.mark.config(SIGNIN_FAILURES_PER_ACCOUNT="3 per minute")
def test_wrong_current_passwords_are_rate_limited(client, api):
    account = api.register()
    statuses = [client.put("/api/v1/me/password", headers=account.headers,
                           json={"current_password": f"guess number {n}", "new_password": NEW_PASSWORD}).status_code
                for n in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_changing_needs_a_signed_in_caller(client):
    assert_error(client.put("/api/v1/me/password", json={"current_password": PASSWORD,
                                                         "new_password": NEW_PASSWORD}), 401)


def test_set_password_on_the_command_line_ends_every_session(app, client, api):
    account = api.register()
    result = app.test_cli_runner().invoke(args=["users", "set-password", account.email, "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert_error(me(client, account), 401)
    assert api.sign_in(account.email, NEW_PASSWORD)


def test_the_sign_in_page_links_to_forgot_your_password(client):
    page = client.get("/dashboard/login").get_data(as_text=True)
    assert 'href="/dashboard/forgot-password"' in page and "Forgot your password?" in page


def test_a_parent_gets_back_in_from_the_email_alone_in_the_dashboard(app, client, api, smtp):
    account = api.register()
    page = client.get("/dashboard/forgot-password").get_data(as_text=True)
    sent = client.post("/dashboard/forgot-password", data={"csrf_token": csrf_from(page), "email": account.email})
    assert sent.status_code == 200 and "If an account has this address" in sent.get_data(as_text=True)
    send(app)
    (message,) = [m for m in smtp.to(account.email) if "new password" in m["Subject"].lower()]
    link = link_in(message, "/dashboard/reset-password")
    form = client.get(link)
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "no-referrer"
    token = parse_qs(urlsplit(link).query)["token"][0]
    done = client.post("/dashboard/reset-password", data={
        "csrf_token": csrf_from(form.get_data(as_text=True)), "token": token, "password": NEW_PASSWORD})
    assert done.status_code == 200 and 'href="/dashboard/login"' in done.get_data(as_text=True)
    assert_error(me(client, account), 401)
    assert Browser(app.test_client()).sign_in(account.email, NEW_PASSWORD).status_code == 302


def test_the_dashboard_form_names_a_refused_password_and_keeps_the_link(app, client, api, smtp):
    account = api.register()
    ask_reset(client, account.email)
    token = reset_token(app, smtp, account.email)
    form = client.get("/dashboard/reset-password", query_string={"token": token}).get_data(as_text=True)
    refused = client.post("/dashboard/reset-password", data={
        "csrf_token": csrf_from(form), "token": token, "password": "password1"})
    assert refused.status_code == 422 and "most common passwords" in refused.get_data(as_text=True)
    assert client.post(f"/api/v1/password-resets/{token}", json={"password": NEW_PASSWORD}).status_code == 204


@pytest.mark.parametrize("token, status", [("made-up", 404), ("", 404)])
def test_a_dashboard_link_that_is_not_valid_says_so(client, token, status):
    response = client.get("/dashboard/reset-password", query_string={"token": token})
    assert response.status_code == status and "Ask for a new one" in response.get_data(as_text=True)


def test_a_spent_dashboard_link_is_410(app, client, api, smtp):
    account = api.register()
    ask_reset(client, account.email)
    token = reset_token(app, smtp, account.email)
    client.post(f"/api/v1/password-resets/{token}", json={"password": NEW_PASSWORD})
    response = client.get("/dashboard/reset-password", query_string={"token": token})
    assert response.status_code == 410 and "Ask for a new one" in response.get_data(as_text=True)


def test_known_and_unknown_addresses_answer_in_about_the_same_time(client, api):
    account = api.register()
    known = [timed(lambda: ask_reset(client, account.email)) for _ in range(3)]  # within the account's limit
    unknown = [timed(lambda n=n: ask_reset(client, f"nobody{n}@example.org")) for n in range(3)]
    assert min(known + unknown) >= ANSWER_SECONDS
    assert abs(statistics.median(known) - statistics.median(unknown)) < ANSWER_SECONDS / 4


def timed(call) -> float:
    started = time.perf_counter()
    assert call().status_code == 202
    return time.perf_counter() - started


def test_a_reset_ends_the_dashboard_sessions_too(app, client, api, smtp):
    account = api.register()
    browser = Browser(app.test_client())
    assert browser.sign_in(account.email).status_code == 302
    assert browser.client.get("/dashboard/").status_code == 200
    ask_reset(client, account.email)
    token = reset_token(app, smtp, account.email)
    assert client.post(f"/api/v1/password-resets/{token}", json={"password": NEW_PASSWORD}).status_code == 204
    assert browser.client.get("/dashboard/").status_code == 302


def test_a_reset_verifies_the_address_it_reached(app, client, api, smtp):
    account = api.register(verified=False)
    assert me(client, account).get_json()["email_verified"] is False
    ask_reset(client, account.email)
    token = reset_token(app, smtp, account.email)
    assert client.post(f"/api/v1/password-resets/{token}", json={"password": NEW_PASSWORD}).status_code == 204
    signed_in = api.sign_in(account.email, NEW_PASSWORD)
    verified = client.get("/api/v1/me", headers={"Authorization": f"Bearer {signed_in}"}).get_json()
    assert verified["email_verified"] is True  # the link could only be followed from that mailbox
