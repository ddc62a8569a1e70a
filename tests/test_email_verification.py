"""Email verification (issue 21 item 1), changing the email (item 3) and registration (item 8): over HTTP on both
databases, the emails received by a real SMTP server and their links followed from the email's own text."""
import statistics
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from backend.accounts.emails import send_account_emails
from backend.demo import DEMO_PASSWORD
from backend.reminders.dispatch import dispatch
from tests.dashboard_helpers import csrf_from
from tests.helpers import PASSWORD, assert_error, link_in, text_of

VERIFY_PAGE = "/dashboard/verify-email"


def deliver(app) -> None:
    with app.app_context():
        send_account_emails()


def verification_link(app, smtp, address: str) -> str:
    """The link of the newest verification email to `address`, as its reader sees it."""
    deliver(app)
    emails = [m for m in smtp.to(address) if "confirm your email" in m["Subject"].lower()]
    assert emails, f"no verification email to {address}"
    return link_in(emails[-1], VERIFY_PAGE)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def me(client, account) -> dict:
    return client.get("/api/v1/me", headers=account.headers).json


def test_registration_sends_a_verification_email_whose_token_verifies_the_address(app, client, api, smtp):
    account = api.register(verified=False)
    assert me(client, account)["email_verified"] is False
    link = verification_link(app, smtp, account.email)
    assert client.post("/api/v1/email-verifications", json={"token": token_of(link)}).status_code == 204
    assert me(client, account)["email_verified"] is True
    assert_error(client.post("/api/v1/email-verifications", json={"token": token_of(link)}), 410)


def test_the_dashboard_page_confirms_with_a_form_and_opening_it_changes_nothing(app, client, api, smtp):
    account = api.register(verified=False)
    link = verification_link(app, smtp, account.email)
    page = client.get(link)
    assert page.status_code == 200 and "Confirm my email address" in page.get_data(as_text=True)
    assert me(client, account)["email_verified"] is False  # a mail scanner that follows the link verifies nothing
    without_csrf = client.post(VERIFY_PAGE, data={"token": token_of(link)})
    assert without_csrf.status_code == 400 and me(client, account)["email_verified"] is False
    csrf = csrf_from(page.get_data(as_text=True))
    done = client.post(VERIFY_PAGE, data={"token": token_of(link), "csrf_token": csrf})
    assert done.status_code == 200 and "your email address is confirmed" in done.get_data(as_text=True)
    assert me(client, account)["email_verified"] is True


def test_unknown_forged_and_expired_tokens_are_refused(app, client, api, smtp):
    assert_error(client.post("/api/v1/email-verifications", json={"token": "not-a-token"}), 404)
    assert_error(client.post("/api/v1/email-verifications", json={}), 422, field="token")
    account = api.register(verified=False)
    token = token_of(verification_link(app, smtp, account.email))
    assert_error(client.post("/api/v1/email-verifications", json={"token": token[:-2] + "xx"}), 404)
    later = datetime.now(UTC) + timedelta(hours=app.config["EMAIL_VERIFICATION_HOURS"], minutes=1)
    with time_machine.travel(later, tick=False):
        assert_error(client.post("/api/v1/email-verifications", json={"token": token}), 410)
    page = client.get(f"{VERIFY_PAGE}?token=not-a-token")
    csrf = csrf_from(page.get_data(as_text=True))
    unknown = client.post(VERIFY_PAGE, data={"token": "not-a-token", "csrf_token": csrf})
    assert unknown.status_code == 404 and "not known" in unknown.get_data(as_text=True)
    assert me(client, account)["email_verified"] is False


def test_an_unsubscribe_token_is_no_verification_token(app, client, api, family):
    from backend.reminders.tokens import unsubscribe_token

    with app.app_context():
        other = unsubscribe_token(family["child"]["id"], family["owner"].id)
    assert_error(client.post("/api/v1/email-verifications", json={"token": other}), 404)


@pytest.mark.config(VERIFICATION_EMAILS_PER_ACCOUNT="2 per hour")
def test_the_verification_email_can_be_sent_again_within_a_limit(app, client, api, smtp):
    account = api.register(verified=False)
    for _ in range(2):
        assert client.post("/api/v1/me/email-verification", headers=account.headers).status_code == 202
    assert_error(client.post("/api/v1/me/email-verification", headers=account.headers), 429)
    deliver(app)
    assert len([m for m in smtp.to(account.email) if "confirm" in m["Subject"].lower()]) == 3
    link = verification_link(app, smtp, account.email)
    assert client.post("/api/v1/email-verifications", json={"token": token_of(link)}).status_code == 204
    verified = api.register()
    assert_error(client.post("/api/v1/me/email-verification", headers=verified.headers), 409)
    assert_error(client.post("/api/v1/me/email-verification"), 401)


def test_reminders_go_only_to_verified_addresses_and_the_schedule_says_who_is_left_out(app, client, api, smtp):
    owner = api.register()
    partner = api.register(verified=False)
    child = api.create_child(owner)
    api.join(owner, child["id"], partner)
    schedule = client.put(f"/api/v1/children/{child['id']}/reminder-schedule", headers=owner.headers, json={
        "cadence": "weekly", "weekday": "sunday", "local_time": "19:00", "enabled": True})
    assert schedule.json["left_out"] == [{"user_id": partner.id, "name": "Caregiver 2",
                                          "reason": "email not verified"}]
    due = datetime.fromisoformat(schedule.json["next_due_at"]) + timedelta(minutes=1)
    with app.app_context():
        dispatch(due)
    reminded = {rcpt for rcpts, m in smtp.messages for rcpt in rcpts if "confirm" not in m["Subject"].lower()}
    assert reminded == {owner.email}
    link = verification_link(app, smtp, partner.email)
    client.post("/api/v1/email-verifications", json={"token": token_of(link)})
    assert client.get(f"/api/v1/children/{child['id']}/reminder-schedule", headers=owner.headers).json["left_out"] == []


def test_a_new_email_waits_for_its_verification_and_the_old_address_is_told(app, client, api, smtp):
    account = api.register()
    changed = client.patch("/api/v1/me", headers=account.headers, json={"email": "New.Address@Example.org"})
    assert changed.status_code == 200
    assert changed.json["email"] == account.email and changed.json["pending_email"] == "new.address@example.org"
    link = verification_link(app, smtp, "new.address@example.org")
    assert not [m for m in smtp.to(account.email) if "confirm" in m["Subject"].lower()]
    assert client.post("/api/v1/email-verifications", json={"token": token_of(link)}).status_code == 204
    now = me(client, account)
    assert now["email"] == "new.address@example.org" and now["pending_email"] is None and now["email_verified"]
    deliver(app)
    (notice,) = [m for m in smtp.to(account.email) if "changed" in m["Subject"].lower()]
    assert "n***@example.org" in text_of(notice) and "new.address" not in text_of(notice)
    assert "reset your password" in text_of(notice)
    assert client.post("/api/v1/tokens", json={"email": "new.address@example.org",
                                               "password": PASSWORD}).status_code == 201


def test_an_address_of_another_account_gets_the_same_answer_and_no_email(app, client, api, smtp):
    account, other = api.register(), api.register()
    free = client.patch("/api/v1/me", headers=account.headers, json={"email": "free@example.org"})
    taken = client.patch("/api/v1/me", headers=account.headers, json={"email": other.email})
    assert taken.status_code == free.status_code == 200
    assert set(taken.json) == set(free.json) and taken.json["pending_email"] == other.email
    deliver(app)
    assert smtp.to(other.email) == []
    assert me(client, account)["email"] == account.email


def test_the_name_changes_at_once(client, api):
    account = api.register()
    assert client.patch("/api/v1/me", headers=account.headers, json={"name": "Anna"}).json["name"] == "Anna"
    assert_error(client.patch("/api/v1/me", headers=account.headers, json={"email": "not an email"}), 422, "email")
    assert_error(client.patch("/api/v1/me", json={"name": "Anna"}), 401)


def register_body(email: str) -> dict:
    return {"email": email, "password": PASSWORD, "name": "Someone", "role": "caregiver"}


def test_a_sign_up_with_a_known_address_is_409_and_its_owner_is_told_once_an_hour(app, client, api, smtp):
    owner = api.register()
    for _ in range(3):
        assert_error(client.post("/api/v1/users", json=register_body(owner.email)), 409, field="email")
    deliver(app)
    (notice,) = [m for m in smtp.to(owner.email) if "tried to sign up" in m["Subject"].lower()]
    assert "no new one was made" in text_of(notice)


@pytest.mark.config(REGISTRATIONS_PER_ADDRESS="3 per hour")
def test_registrations_are_limited_per_client_address(client):
    for number in range(3):
        assert client.post("/api/v1/users", json=register_body(f"n{number}@example.org")).status_code == 201
    assert_error(client.post("/api/v1/users", json=register_body("n9@example.org")), 429)
    other = client.post("/api/v1/users", json=register_body("n8@example.org"),
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 201


@pytest.mark.config(ARGON2_TIME_COST=2, ARGON2_MEMORY_COST_KIB=32768)
def test_a_known_address_answers_in_about_the_time_of_a_new_account(client, api):
    owner = api.register()

    def timed(body) -> float:
        started = time.perf_counter()
        client.post("/api/v1/users", json=body)
        return time.perf_counter() - started

    new = statistics.median(timed(register_body(f"t{n}@example.org")) for n in range(5))
    known = statistics.median(timed(register_body(owner.email)) for _ in range(5))
    assert known > new / 2, (known, new)  # before: 5 ms against 137 ms


def test_the_demo_accounts_are_verified(app, client):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    token = client.post("/api/v1/tokens", json={"email": "parent@example.com", "password": DEMO_PASSWORD}).json["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json["email_verified"] is True


def test_an_address_an_operator_sets_is_verified_by_its_owner_still(app, client, api, smtp):
    """`flask users set-password --new-email`: a typo by the operator must not send a child's news to a stranger."""
    account = api.register()
    moved = app.test_cli_runner().invoke(args=["users", "set-password", account.email, "--new-email",
                                               "new.home@example.org", "--password", PASSWORD])
    assert moved.exit_code == 0 and "verification email" in moved.output, moved.output
    token = api.sign_in("new.home@example.org")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).json["email_verified"] is False
    link = verification_link(app, smtp, "new.home@example.org")
    assert client.post("/api/v1/email-verifications", json={"token": token_of(link)}).status_code == 204
    assert client.get("/api/v1/me", headers=headers).json["email_verified"] is True
