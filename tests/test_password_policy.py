"""The password policy (issue 21 item 4, NIST SP 800-63B): at least 8 characters, no composition rules, none of
the most common passwords, not the email; the reason is in the 422 wherever a password is set."""
import pytest

from backend.accounts.policy import IS_THE_EMAIL, TOO_COMMON, WRONG_LENGTH, password_problems
from backend.demo import DEMO_PASSWORD
from tests.helpers import PASSWORD, assert_error
from tests.test_password_reset import reset_token

EMAIL = "anna.berg@example.org"
REFUSED = [("password", TOO_COMMON), ("PassWord1", TOO_COMMON), ("iloveyou", TOO_COMMON),
           ("qwertyuiop", TOO_COMMON), ("1234567", WRONG_LENGTH), (EMAIL, IS_THE_EMAIL),
           ("Anna.Berg@Example.org", IS_THE_EMAIL), ("anna.berg", IS_THE_EMAIL)]
REFUSED_LENGTHS = [("1234567", WRONG_LENGTH), ("y" * 257, WRONG_LENGTH)]
ACCEPTED = ["correct horse battery", "alllowercasewords", "Überraschung! 🦔 ein Igel im Garten", "x" * 256]


@pytest.mark.parametrize("password, reason", REFUSED + REFUSED_LENGTHS)
def test_common_short_and_email_passwords_are_refused_with_the_reason(password, reason):
    assert reason in password_problems(password, EMAIL)


@pytest.mark.parametrize("password", ACCEPTED)
def test_long_or_unicode_passwords_need_no_digits_or_symbols(password):
    assert password_problems(password, EMAIL) == []


def test_the_demo_and_test_passwords_pass():
    assert password_problems(DEMO_PASSWORD, "parent@example.com") == []
    assert password_problems(PASSWORD, "caregiver1@example.org") == []


def register(client, password: str, email: str = EMAIL):
    return client.post("/api/v1/users", json={"email": email, "password": password, "name": "Anna",
                                              "role": "caregiver"})


@pytest.mark.parametrize("password, reason", REFUSED)
def test_registration_refuses_and_names_the_reason(client, password, reason):
    body = assert_error(register(client, password), 422, "password")
    assert reason in body["errors"]["password"]


def test_registration_takes_a_long_unicode_passphrase(client):
    assert register(client, "Überraschung! 🦔 ein Igel im Garten").status_code == 201


def test_changing_to_a_common_password_is_refused(client, api):
    account = api.register()
    for new_password, reason in [("sunshine", TOO_COMMON), (account.email, IS_THE_EMAIL)]:
        body = assert_error(client.put("/api/v1/me/password", headers=account.headers, json={
            "current_password": PASSWORD, "new_password": new_password}), 422, "new_password")
        assert reason in body["errors"]["new_password"]
    assert_error(client.put("/api/v1/me/password", headers=account.headers, json={
        "current_password": PASSWORD, "new_password": "short"}), 422, "new_password")
    assert api.sign_in(account.email)


def test_a_reset_to_a_common_password_is_refused_and_the_link_still_works(app, client, api, smtp):
    account = api.register()
    client.post("/api/v1/password-resets", json={"email": account.email})
    token = reset_token(app, smtp, account.email)
    for password, reason in [("football", TOO_COMMON), (account.email.split("@")[0], IS_THE_EMAIL)]:
        body = assert_error(client.post(f"/api/v1/password-resets/{token}", json={"password": password}),
                            422, "password")
        assert reason in body["errors"]["password"]
    assert_error(client.post(f"/api/v1/password-resets/{token}", json={"password": "short"}), 422, "password")
    assert client.post(f"/api/v1/password-resets/{token}", json={"password": "an unusual sentence"}).status_code == 204


def test_set_password_on_the_command_line_refuses_with_the_reason(app, api):
    account = api.register()
    result = app.test_cli_runner().invoke(args=["users", "set-password", account.email, "--password", "baseball"])
    assert result.exit_code != 0 and TOO_COMMON in result.output
    assert api.sign_in(account.email)
