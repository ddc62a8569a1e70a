"""Sign-in limits that hold (issue 21, item 8): shared by workers, one count for the API and the dashboard,
no lock-out from elsewhere, a brake instead, and no sign-in posted cross-site as text/plain."""
import pytest

from backend import create_app
from backend.accounts import signin_limits
from backend.extensions import db, limiter
from tests.dashboard_helpers import csrf_from
from tests.helpers import PASSWORD, assert_error, config_for

WRONG = "not-the-password"


def api_attempt(client, email: str, password: str = WRONG, address: str = "10.0.0.1"):
    return client.post("/api/v1/tokens", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def dashboard_attempt(client, email: str, password: str = WRONG, address: str = "10.0.0.1"):
    page = client.get("/dashboard/login", environ_base={"REMOTE_ADDR": address})
    return client.post("/dashboard/login", data={"email": email, "password": password,
                                                 "csrf_token": csrf_from(page.get_data(as_text=True))},
                       environ_base={"REMOTE_ADDR": address})


@pytest.mark.config(RATELIMIT_STORAGE_URI="myodiary-db://")
def test_two_workers_count_one_accounts_failures_together(app, api, database_url):
    """Two app instances on one database (two gunicorn workers, or two replicas) share the counters."""
    account = api.register()
    first_storage = limiter.storage  # the one extension object: each app's init_app gives it a storage
    second_app = create_app(config_for(database_url, RATELIMIT_STORAGE_URI="myodiary-db://"))
    other_worker = second_app.test_client()
    try:
        statuses = [api_attempt(client, account.email).status_code
                    for client in [api.client, other_worker] * 3]  # 6 wrong passwords, 3 on each worker
        assert statuses == [401] * 5 + [429]  # the limit is 5 a minute, whichever worker answered
        assert api_attempt(other_worker, account.email, PASSWORD).status_code == 429
    finally:  # no connection left for the garbage collector to find open in a later test
        for storage in (first_storage, limiter.storage):
            storage.engine.dispose()
        with second_app.app_context():
            db.engine.dispose()


def test_the_dashboard_and_the_api_count_failures_together(client, api):
    account = api.register()
    assert [api_attempt(client, account.email).status_code for _ in range(3)] == [401] * 3
    assert [dashboard_attempt(client, account.email).status_code for _ in range(2)] == [401] * 2
    assert dashboard_attempt(client, account.email, PASSWORD).status_code == 429
    assert_error(api_attempt(client, account.email, PASSWORD), 429)


def test_guesses_from_elsewhere_never_lock_the_owner_out(client, api):
    account = api.register()
    for attacker in ("203.0.113.7", "203.0.113.8"):
        statuses = [api_attempt(client, account.email, address=attacker).status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]  # each guessing address is stopped
    owner = api_attempt(client, account.email, PASSWORD, address="198.51.100.20")
    assert owner.status_code == 201  # at home, at 3 a.m., the parent still gets in


@pytest.mark.config(SIGNIN_BRAKE_AFTER=3, SIGNIN_BRAKE_MAX_SECONDS=2)
def test_many_addresses_guessing_one_account_are_braked_not_locked(client, api, monkeypatch):
    account = api.register()
    waits = []
    monkeypatch.setattr(signin_limits.time, "sleep", waits.append)  # record the brake instead of waiting
    for number in range(6):
        assert api_attempt(client, account.email, address=f"203.0.113.{number}").status_code == 401
    assert waits == [0.0, 0.0, 0.0, 0.25, 0.5, 1.0]  # past 3 failures, each attempt waits twice as long
    owner = api_attempt(client, account.email, PASSWORD, address="198.51.100.20")
    assert owner.status_code == 201 and waits[-1] == 2  # the owner gets in, after the brake's longest wait


def test_a_sign_in_sent_as_text_plain_is_refused(client, api):
    """A web page can post text/plain cross-site without a preflight: JSON routes take application/json only."""
    account = api.register()
    body = f'{{"email": "{account.email}", "password": "{PASSWORD}"}}'
    refused = client.post("/api/v1/tokens", data=body, content_type="text/plain")
    assert_error(refused, 415)
    assert "application/json" in refused.json["message"]
    assert client.post("/api/v1/tokens", data=body, content_type="application/json").status_code == 201


class StartingServer:
    """What gunicorn hands its on_starting hook: the settings and the logger."""

    def __init__(self, workers: int):
        self.cfg = type("Settings", (), {"workers": workers})()
        self.warnings = []
        self.log = type("Log", (), {"warning": lambda _, *args: self.warnings.append(args[0] % args[1:])})()


def test_gunicorn_warns_when_several_workers_count_limits_in_memory(monkeypatch):
    from backend import gunicorn_config

    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    several, one = StartingServer(workers=2), StartingServer(workers=1)
    gunicorn_config.on_starting(several)
    gunicorn_config.on_starting(one)
    assert len(several.warnings) == 1 and "2 times as many attempts" in several.warnings[0]
    assert one.warnings == []
    monkeypatch.delenv("RATELIMIT_STORAGE_URI")  # the default: the app's database, shared
    shared = StartingServer(workers=4)
    gunicorn_config.on_starting(shared)
    assert shared.warnings == []


@pytest.fixture
def counters_in_the_database(app):
    """The default storage (the tests run on memory://); its engine disposed afterwards."""
    yield
    for storage in {id(limiter.storage): limiter.storage}.values():
        if hasattr(storage, "engine"):
            storage.engine.dispose()


@pytest.mark.config(RATELIMIT_STORAGE_URI="myodiary-db://")
def test_every_limited_route_answers_at_once_with_the_counters_in_the_database(client, api, counters_in_the_database):
    """A view that counts (the password reset's per-account limit) must not wait on its own request's SQLite write
    lock: under `make run` it waited for the busy timeout and answered 500."""
    account = api.register()
    assert client.post("/api/v1/password-resets", json={"email": account.email}).status_code == 202
    assert client.post("/api/v1/password-resets", json={"email": "nobody@example.org"}).status_code == 202
    assert_error(api_attempt(client, account.email), 401)
    assert client.post("/api/v1/me/email-verification", headers=account.headers).status_code == 409  # verified
    assert client.post("/api/v1/users", json={"email": "new@example.org", "password": PASSWORD, "name": "New",
                                              "role": "caregiver"}).status_code == 201
