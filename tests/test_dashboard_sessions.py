"""Dashboard sessions kept server-side (issue 21 item 8): the cookie carries no API token, the session ends at
DASHBOARD_SESSION_HOURS on the server too; the two-factor code step; the account page's devices and
two-factor forms; a clinician who must use two-factor sign-in goes to the account page until it is on."""
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine

from tests.dashboard_helpers import Browser, csrf_from
from tests.helpers import PASSWORD, assert_error

COOKIE = "myodiary_session"


def session_cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def session_of(app, cookie: str) -> dict:
    return app.session_interface.get_signing_serializer(app).loads(cookie)


def with_cookie(app, cookie: str):
    """A fresh browser that sends only this cookie (no expiry of its own): what the server decides is what counts."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    return other


def enrol(client, account) -> str:
    secret = client.post("/api/v1/me/totp", headers=account.headers).json["secret"]
    confirmed = client.post("/api/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()},
                            headers=account.headers)
    assert confirmed.status_code == 200
    return secret


def next_step_code(secret: str) -> str:
    """The code of the next step: accepted (one step ahead is in the window) after the current one was used."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))


def test_the_session_cookie_yields_no_api_token(app, client, api):
    account = api.register()
    assert Browser(client).sign_in(account.email).status_code == 302
    cookie = session_cookie(client)
    secret = session_of(app, cookie)["dashboard_session"]
    assert client.get("/dashboard/").status_code == 200
    for value in (secret, cookie):
        assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"}), 401)


def test_the_session_ends_on_the_server_at_dashboard_session_hours(app, client, api):
    account = api.register()
    Browser(client).sign_in(account.email)
    cookie = session_cookie(client)
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    with time_machine.travel(datetime.now(UTC) + lifetime - timedelta(minutes=1)):
        assert with_cookie(app, cookie).get("/dashboard/").status_code == 200
    with time_machine.travel(datetime.now(UTC) + lifetime + timedelta(minutes=1)):
        late = with_cookie(app, cookie).get("/dashboard/")
    assert late.status_code == 302 and "/dashboard/login" in late.location


def test_signing_out_ends_the_session_on_the_server(app, client, api):
    account = api.register()
    browser = Browser(client)
    browser.sign_in(account.email)
    cookie = session_cookie(client)
    assert browser.post_form("/dashboard/", "/dashboard/logout").status_code == 302
    assert with_cookie(app, cookie).get("/dashboard/").status_code == 302


def test_with_two_factor_on_the_dashboard_asks_for_the_code_on_a_second_step(app, client, api):
    account = api.register()
    secret = enrol(client, account)
    browser = Browser(client)
    first = browser.sign_in(account.email)
    assert first.status_code == 302 and "/dashboard/login/code" in first.location
    assert "dashboard_session" not in session_of(app, session_cookie(client))  # no session, no token yet
    assert client.get("/dashboard/").status_code == 302
    page = browser.page("/dashboard/login/code")
    wrong = client.post("/dashboard/login/code", data={"csrf_token": csrf_from(page), "code": "000000"})
    assert wrong.status_code == 401 and "Wrong or already used code" in wrong.get_data(as_text=True)
    right = client.post("/dashboard/login/code", data={"csrf_token": csrf_from(page), "code": next_step_code(secret)})
    assert right.status_code == 302 and right.location.endswith("/dashboard/")
    assert client.get("/dashboard/").status_code == 200


def test_the_password_step_is_good_for_a_few_minutes_only(client, api):
    account = api.register()
    secret = enrol(client, account)
    browser = Browser(client)
    browser.sign_in(account.email)
    token = csrf_from(browser.page("/dashboard/login/code"))
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6)):
        code = pyotp.TOTP(secret).now()
        late = client.post("/dashboard/login/code", data={"csrf_token": token, "code": code})
        assert late.status_code == 302 and "/dashboard/login" in late.location
        assert client.get("/dashboard/").status_code == 302


def test_the_account_page_lists_devices_and_signs_one_out(client, api):
    account = api.register()
    browser = Browser(client)
    browser.sign_in(account.email)
    page = browser.page("/dashboard/account")
    rows = re.findall(r'<tr id="device-([^"]+)"', page)
    assert len(rows) == 2 and "this browser" in page
    api_token = next(row for row in rows if f"device-{row}\">\n      <td>App" in page)
    ended = browser.post_form("/dashboard/account", f"/dashboard/account/devices/{api_token}/sign-out")
    assert ended.status_code == 302
    assert_error(client.get("/api/v1/me", headers=account.headers), 401)
    assert client.get("/dashboard/account").status_code == 200


def test_two_factor_is_set_up_and_turned_off_on_the_account_page(client, api):
    account = api.register()
    browser = Browser(client)
    browser.sign_in(account.email)
    assert browser.post_form("/dashboard/account", "/dashboard/account/totp").status_code == 302
    page = browser.page("/dashboard/account")
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    assert '<svg' in page and "<script" not in page
    wrong = browser.post_form("/dashboard/account", "/dashboard/account/totp/confirm", code="000000")
    assert wrong.status_code == 422
    shown = browser.post_form("/dashboard/account", "/dashboard/account/totp/confirm", code=pyotp.TOTP(secret).now())
    assert shown.status_code == 200
    assert len(re.findall(r"<li><code>[a-z2-9-]+</code></li>", shown.get_data(as_text=True))) == 10
    assert client.get("/api/v1/me", headers=account.headers).json["two_factor"] is True
    off = browser.post_form("/dashboard/account", "/dashboard/account/totp/off", password=PASSWORD,
                            code=next_step_code(secret))
    assert off.status_code == 302
    assert client.get("/api/v1/me", headers=account.headers).json["two_factor"] is False


@pytest.mark.config(REQUIRE_CLINICIAN_2FA=True)
def test_a_clinician_without_two_factor_is_sent_to_the_account_page_until_it_is_on(client, api):
    clinician = api.register("clinician")
    browser = Browser(client)
    browser.sign_in(clinician.email)
    sent = client.get("/dashboard/")
    assert sent.status_code == 302 and sent.location.endswith("/dashboard/account")
    assert "must turn on two-factor" in browser.page("/dashboard/account")
    browser.post_form("/dashboard/account", "/dashboard/account/totp")
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', browser.page("/dashboard/account")).group(1)
    browser.post_form("/dashboard/account", "/dashboard/account/totp/confirm", code=pyotp.TOTP(secret).now())
    assert client.get("/dashboard/").status_code == 200
