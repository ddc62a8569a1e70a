"""Two-factor sign-in with TOTP (issue 21 item 5): set up, confirm, sign in with a code at the window's edges,
no replay, recovery codes once, turn off; clinicians who must use it may only enrol until they do."""
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from backend.accounts.models import RecoveryCode, User
from backend.extensions import db
from tests.helpers import PASSWORD, assert_error

STEP = 30
_HOUR_AGO = int(datetime.now(UTC).timestamp()) - 3600
START = datetime.fromtimestamp(_HOUR_AGO - _HOUR_AGO % STEP, UTC)  # an hour ago, where a step starts
LATER = START + timedelta(minutes=10, seconds=10)  # ten seconds into a step, long after enrolment


def code_at(secret: str, instant: datetime, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(instant + timedelta(seconds=steps * STEP))


def enrol(client, account, at: datetime = START) -> tuple[str, list[str]]:
    """Two-factor sign-in on for the account; its secret and recovery codes."""
    with time_machine.travel(at, tick=False):
        setup = client.post("/api/v1/me/totp", headers=account.headers)
        assert setup.status_code == 201, setup.json
        secret = setup.json["secret"]
        confirmed = client.post("/api/v1/me/totp/confirm", json={"code": code_at(secret, at)}, headers=account.headers)
    assert confirmed.status_code == 200, confirmed.json
    return secret, confirmed.json["recovery_codes"]


def sign_in(client, account, otp: str | None = None, password: str = PASSWORD, at: datetime = LATER):
    body = {"email": account.email, "password": password, **({"otp": otp} if otp is not None else {})}
    with time_machine.travel(at, tick=False):
        return client.post("/api/v1/tokens", json=body)


def test_setting_up_gives_a_secret_a_uri_and_a_qr_code_and_is_on_only_after_a_code(app, client, api):
    account = api.register()
    setup = client.post("/api/v1/me/totp", headers=account.headers)
    assert setup.status_code == 201
    secret = setup.json["secret"]
    assert setup.json["otpauth_uri"] == pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name="Myodiary")
    svg = setup.json["qr_svg"]
    assert svg.startswith("<svg") and "<script" not in svg.lower()
    assert client.get("/api/v1/me", headers=account.headers).json["two_factor"] is False
    with app.app_context():
        stored = db.session.get(User, account.id).totp_secret
    assert stored and secret not in stored  # sealed at rest

    wrong = client.post("/api/v1/me/totp/confirm", json={"code": "000000"}, headers=account.headers)
    assert_error(wrong, 422, "code")
    assert client.get("/api/v1/me", headers=account.headers).json["two_factor"] is False
    confirmed = client.post("/api/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()},
                            headers=account.headers)
    assert confirmed.status_code == 200
    codes = confirmed.json["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert client.get("/api/v1/me", headers=account.headers).json["two_factor"] is True
    with app.app_context():
        hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and not set(codes) & set(hashes)  # stored hashed
    assert_error(client.post("/api/v1/me/totp", headers=account.headers), 409)


def test_with_two_factor_on_the_password_alone_is_a_401_naming_otp(client, api):
    account = api.register()
    secret, _ = enrol(client, account)
    assert_error(sign_in(client, account), 401, "otp")
    assert_error(sign_in(client, account, otp=code_at(secret, LATER, steps=5)), 401, "otp")
    wrong_password = sign_in(client, account, otp=code_at(secret, LATER), password="not the password")
    wrong_password = assert_error(wrong_password, 401)
    assert "otp" not in wrong_password.get("errors", {})
    signed_in = sign_in(client, account, otp=code_at(secret, LATER))
    assert signed_in.status_code == 201
    headers = {"Authorization": f"Bearer {signed_in.json['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_a_code_works_one_step_either_side_of_now_and_no_further(client, api):
    account = api.register()
    secret, _ = enrol(client, account)
    assert_error(sign_in(client, account, otp=code_at(secret, LATER, -2)), 401, "otp")
    assert_error(sign_in(client, account, otp=code_at(secret, LATER, +2)), 401, "otp")
    assert sign_in(client, account, otp=code_at(secret, LATER, -1)).status_code == 201
    assert sign_in(client, account, otp=code_at(secret, LATER, +1)).status_code == 201
    last_second = LATER - timedelta(seconds=10) + timedelta(seconds=STEP * 2 - 1)  # the last second of step +1
    assert_error(sign_in(client, account, otp=code_at(secret, LATER, -1), at=last_second), 401, "otp")


def test_a_used_code_cannot_be_replayed_within_its_window(client, api):
    account = api.register()
    secret, _ = enrol(client, account)
    code = code_at(secret, LATER)
    assert sign_in(client, account, otp=code).status_code == 201
    assert_error(sign_in(client, account, otp=code), 401, "otp")
    assert_error(sign_in(client, account, otp=code, at=LATER + timedelta(seconds=STEP)), 401, "otp")
    next_step = LATER + timedelta(seconds=STEP)
    assert sign_in(client, account, otp=code_at(secret, next_step), at=next_step).status_code == 201


def test_a_recovery_code_works_once(client, api):
    account = api.register()
    _, codes = enrol(client, account)
    assert sign_in(client, account, otp=codes[0].upper().replace("-", " ")).status_code == 201
    assert_error(sign_in(client, account, otp=codes[0]), 401, "otp")
    assert sign_in(client, account, otp=codes[1]).status_code == 201


def test_turning_off_needs_the_password_and_a_code(client, api):
    account = api.register()
    secret, codes = enrol(client, account)
    with time_machine.travel(LATER, tick=False):
        wrong_password = client.delete("/api/v1/me/totp", json={"password": "not it", "code": code_at(secret, LATER)},
                                       headers=account.headers)
        wrong_code = client.delete("/api/v1/me/totp", json={"password": PASSWORD, "code": "abcd-efgh-jkmn"},
                                   headers=account.headers)
        assert_error(wrong_password, 422, "password")
        assert_error(wrong_code, 422, "code")
        off = client.delete("/api/v1/me/totp", json={"password": PASSWORD, "code": codes[3]}, headers=account.headers)
    assert off.status_code == 204
    assert client.get("/api/v1/me", headers=account.headers).json["two_factor"] is False
    assert sign_in(client, account).status_code == 201
    assert_error(client.delete("/api/v1/me/totp", json={"password": PASSWORD, "code": "123456"},
                               headers=account.headers), 409)


@pytest.mark.config(SIGNIN_FAILURES_PER_ACCOUNT="3 per minute")
def test_wrong_codes_when_confirming_are_rate_limited(client, api):
    account = api.register()
    client.post("/api/v1/me/totp", headers=account.headers)
    for _ in range(3):
        assert_error(client.post("/api/v1/me/totp/confirm", json={"code": "abcdef"}, headers=account.headers), 422)
    assert_error(client.post("/api/v1/me/totp/confirm", json={"code": "abcdef"}, headers=account.headers), 429)


@pytest.mark.config(SIGNIN_FAILURES_PER_ACCOUNT="3 per minute")
def test_wrong_sign_in_codes_count_toward_the_sign_in_limits(client, api):
    account = api.register()
    secret, _ = enrol(client, account)
    for _ in range(3):
        assert_error(sign_in(client, account, otp="abcdef"), 401, "otp")
    assert_error(sign_in(client, account, otp=code_at(secret, LATER)), 429)


@pytest.mark.config(REQUIRE_CLINICIAN_2FA=True)
def test_a_clinician_without_two_factor_may_sign_in_only_to_turn_it_on(client, api):
    clinician, caregiver = api.register("clinician"), api.register("caregiver")
    assert client.get("/api/v1/children", headers=caregiver.headers).status_code == 200
    assert client.get("/api/v1/me", headers=clinician.headers).status_code == 200
    refused = assert_error(client.get("/api/v1/children", headers=clinician.headers), 403)
    assert "two-factor" in refused["message"].lower()
    assert_error(client.get("/api/v1/me/tokens", headers=clinician.headers), 403)
    enrol(client, clinician, at=datetime.now(UTC))
    assert client.get("/api/v1/children", headers=clinician.headers).status_code == 200
    assert client.delete("/api/v1/tokens", headers=clinician.headers).status_code == 204


def test_being_asked_for_the_code_is_not_a_failed_sign_in(client, api):
    """An app sends the password first and the code when asked: the right password never counts as a guess."""
    account = api.register()
    secret, _ = enrol(client, account)
    for _ in range(6):  # past the 5 failures a minute the limits allow
        assert_error(sign_in(client, account), 401, "otp")
    assert sign_in(client, account, otp=code_at(secret, LATER)).status_code == 201
