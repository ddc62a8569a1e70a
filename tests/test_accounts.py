"""Accounts: register, sign in for a bearer token, sign out, /me, rate limits."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.helpers import PASSWORD, assert_error


def register(client, **overrides):
    body = {"email": "Ada@Example.org", "password": PASSWORD, "name": "Ada", "role": "caregiver",
            **overrides}
    return client.post("/api/v1/users", json=body)


def test_register_returns_the_user_without_password(client):
    response = register(client)
    assert response.status_code == 201
    user = response.json
    assert user["email"] == "ada@example.org"
    assert user["role"] == "caregiver" and user["name"] == "Ada"
    assert "password" not in user and "password_hash" not in user
    assert datetime.fromisoformat(user["created_at"]).utcoffset() == timedelta(0)


def test_emails_are_unique_whatever_their_case(client):
    assert register(client).status_code == 201
    assert_error(register(client, email="ADA@example.ORG"), 409, field="email")


@pytest.mark.parametrize("overrides, field", [
    ({"email": None}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"password": "short"}, "password"),
    ({"password": 12345678}, "password"),
    ({"role": "admin"}, "role"),
    ({"name": ""}, "name"),
    ({"name": "x" * 81}, "name"),
    ({"name": "nul\x00byte"}, "name"),
    ({"is_admin": True}, "is_admin"),
])
def test_register_rejects_bad_fields_by_name(client, overrides, field):
    body = assert_error(register(client, **overrides), 422, field=field)
    assert body["status"] == "Unprocessable Entity"


def test_register_names_every_missing_field(client):
    body = assert_error(client.post("/api/v1/users", json={}), 422)
    assert set(body["errors"]) == {"email", "password", "name", "role"}


def test_sign_in_gives_a_token_that_opens_me(client, api):
    account = api.register("clinician", email="doc@example.org")
    response = client.post("/api/v1/tokens", json={"email": "DOC@example.org", "password": PASSWORD})
    assert response.status_code == 201
    expires_at = datetime.fromisoformat(response.json["expires_at"])
    assert expires_at > datetime.now(UTC) + timedelta(days=29)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json['token']}"})
    assert me.status_code == 200
    assert me.json["id"] == account.id and me.json["role"] == "clinician"


def test_wrong_password_and_unknown_email_look_the_same(client, api):
    api.register(email="ada@example.org")
    wrong = client.post("/api/v1/tokens", json={"email": "ada@example.org", "password": "nope-nope"})
    unknown = client.post("/api/v1/tokens", json={"email": "bob@example.org", "password": "nope-nope"})
    assert assert_error(wrong, 401)["message"] == assert_error(unknown, 401)["message"]


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
    {"Authorization": "Bearer not-a-real-token"},
])
def test_me_needs_a_valid_bearer_token(client, headers):
    response = client.get("/api/v1/me", headers=headers)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_sign_out_revokes_only_that_token(client, api):
    account = api.register()
    other_token = api.sign_in(account.email)
    assert client.delete("/api/v1/tokens", headers=account.headers).status_code == 204
    assert_error(client.get("/api/v1/me", headers=account.headers), 401)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_token}"}).status_code == 200


def test_tokens_expire(client, api):
    account = api.register()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=31)):
        assert_error(client.get("/api/v1/me", headers=account.headers), 401)


def test_tokens_are_stored_hashed(app, api):
    from tests.helpers import run_sql

    account = api.register()
    stored = [row[0] for row in run_sql(app, "SELECT token_hash FROM tokens")]
    assert account.token not in stored and len(stored[0]) == 64


def test_passwords_are_stored_with_argon2id(app, api):
    from tests.helpers import run_sql

    api.register()
    (password_hash,) = run_sql(app, "SELECT password_hash FROM users").one()
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash


def test_repeated_failures_on_one_account_are_throttled(client, api):
    account = api.register()
    for _ in range(5):
        guess = client.post("/api/v1/tokens", json={"email": account.email, "password": "guess-1234"})
        assert_error(guess, 401)
    throttled = client.post("/api/v1/tokens", json={"email": account.email, "password": PASSWORD})
    assert_error(throttled, 429)
    assert int(throttled.headers["Retry-After"]) > 0
    # Another account from the same address still signs in.
    other = api.register()
    assert client.post("/api/v1/tokens", json={"email": other.email, "password": PASSWORD}).status_code == 201


def test_guessing_across_accounts_from_one_address_is_throttled(client):
    guesses = [{"email": f"u{i}@example.org", "password": "guess-1234"} for i in range(31)]
    statuses = [client.post("/api/v1/tokens", json=guess).status_code for guess in guesses]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429


def test_honest_sign_ins_from_one_office_are_never_throttled(client, api):
    accounts = [api.register() for _ in range(3)]
    for _ in range(5):
        for account in accounts:
            response = client.post("/api/v1/tokens", json={"email": account.email, "password": PASSWORD})
            assert response.status_code == 201
