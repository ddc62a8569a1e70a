"""HTTP helpers shared by the tests: accounts, children, care teams, the error shape, received emails."""
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from flask import current_app, has_app_context
from sqlalchemy import event, text

from backend.config import Config
from backend.extensions import db

PASSWORD = "correct horse battery"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST_KIB = 64
    RATELIMIT_STORAGE_URI = "memory://"
    REGISTRATIONS_PER_ADDRESS = "10000 per hour"  # every test client is 127.0.0.1; tests of the limit set their own
    CORS_ORIGINS = ["https://app.example.org"]
    MAX_CONTENT_LENGTH = 64 * 1024
    LOG_LEVEL = "WARNING"


def config_for(database_url: str, **overrides) -> type[TestConfig]:
    return type("BoundTestConfig", (TestConfig,),
                {"SQLALCHEMY_DATABASE_URI": database_url, **overrides})


@contextmanager
def fresh_app(request, backend: str, tmp_path) -> Iterator:
    """An app on an empty, migrated database of its own (SQLite in tmp_path, or a scratch PostgreSQL
    database) with its own instance folder: where an export is imported into."""
    from flask_migrate import upgrade

    from backend import create_app

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    else:
        url = request.getfixturevalue("scratch_database")()
    target = create_app(config_for(url, INSTANCE_DIR=str(tmp_path / "restored-instance")))
    with target.app_context():
        upgrade()
    yield target
    with target.app_context():
        db.engine.dispose()


@dataclass
class Account:
    """A registered, signed-in user as a client sees it."""

    id: str
    email: str
    role: str
    token: str
    headers: dict = field(default_factory=dict)


class ApiHelper:
    """Short, HTTP-only steps that many scenarios share."""

    def __init__(self, client):
        self.client = client
        self._count = 0

    def register(self, role: str = "caregiver", email: str | None = None, verified: bool = True) -> Account:
        """A new signed-in account; `verified` (the default) marks its address verified without the email."""
        self._count += 1
        email = email or f"{role}{self._count}@example.org"
        response = self.client.post("/api/v1/users", json={
            "email": email, "password": PASSWORD, "name": f"{role.title()} {self._count}", "role": role})
        assert response.status_code == 201, response.json
        if verified:
            with app_context_of(self.client.application):
                mark_verified(db.session.connection(), response.json["id"])
                db.session.commit()
        token = self.sign_in(email)
        user = response.json
        return Account(user["id"], email, role, token, {"Authorization": f"Bearer {token}"})

    def sign_in(self, email: str, password: str = PASSWORD) -> str:
        response = self.client.post("/api/v1/tokens", json={"email": email, "password": password})
        assert response.status_code == 201, response.json
        return response.json["token"]

    def create_child(self, owner: Account, **fields) -> dict:
        body = {"name": "Mila", "birth_date": "2026-10-01", "timezone": "Europe/Berlin",
                "condition": "bnsm", **fields}
        response = self.client.post("/api/v1/children", json=body, headers=owner.headers)
        assert response.status_code == 201, response.json
        return response.json

    def invite(self, owner: Account, child_id: str, role: str) -> str:
        response = self.client.post(f"/api/v1/children/{child_id}/invites", json={"role": role},
                                    headers=owner.headers)
        assert response.status_code == 201, response.json
        return response.json["code"]

    def join(self, owner: Account, child_id: str, member: Account) -> None:
        code = self.invite(owner, child_id, member.role)
        response = self.client.post(f"/api/v1/invites/{code}/accept", headers=member.headers)
        assert response.status_code == 200, response.json


def app_context_of(app):
    """The app's context: the one the test already pushed, whose session the requests have used (on SQLite a
    second session would wait for that one's write lock), or a new one."""
    if has_app_context() and current_app._get_current_object() is app:
        return nullcontext()
    return app.app_context()


def mark_verified(connection, user_id: str) -> None:
    """A SHORTCUT for tests that are not about verification (tests/test_email_verification.py follows the real
    email): the account counts as verified, as if its link had been followed, and its verification email is
    dropped from the outbox, so that the tests' mail servers receive only what those tests are about."""
    connection.execute(text("UPDATE users SET email_verified_at = created_at WHERE id = :id"), {"id": user_id})
    connection.execute(text("DELETE FROM account_emails WHERE user_id = :id AND kind = 'verify_email'"),
                       {"id": user_id})


def assert_error(response, status: int, field: str | None = None) -> dict:
    """The one error shape; with `field`, the errors name that field."""
    body = response.get_json()
    assert response.status_code == status, body
    assert body["code"] == status
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    if field is not None:
        assert field in body["errors"], body
    return body


def in_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def run_sql(app, sql: str, **params):
    with app.app_context():
        result = db.session.execute(text(sql), params)
        db.session.commit()
        return result


def episode_body(**fields) -> dict:
    """A valid REST episode: two nights ago, asleep, stopped when woken."""
    body = {"started_at": "2026-11-28T02:14:00+01:00", "duration_seconds": 45,
            "timezone": "Europe/Berlin", "sleep_state": "asleep", "stopped_when_woken": "yes",
            "side": "both", "body_parts": ["arms", "legs"], "signs": [], "triggers": ["fatigue"],
            "jerk_count": 12, "notes": "Quiet night otherwise"}
    return {**body, **fields}


def sleep_body(**fields) -> dict:
    body = {"started_at": "2026-11-27T19:30:00+01:00", "ended_at": "2026-11-28T06:30:00+01:00",
            "kind": "night", "watched": True}
    return {**body, **fields}


@contextmanager
def clock_held(app) -> Iterator[None]:
    """The sync clock kept still: on PostgreSQL a transaction of this database stays open with an id, so the
    versions pulls have seen whole stop below it whatever the cluster's other databases do (their transactions
    move a pull's answer too); SQLite's counter moves only with this database's own writes."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_current_xact_id()"))
        try:
            yield
        finally:
            connection.rollback()


def statements_of(app, send) -> list[str]:
    """The SQL statements (whitespace folded) that `send()` makes the server run."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        send()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


class Sink:
    """What a real SMTP server (aiosmtpd, the `smtp` fixture) received: (recipients, parsed message) pairs."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def to(self, address: str) -> list:
        """The messages sent to this address, oldest first."""
        return [message for recipients, message in self.messages if address in recipients]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def link_in(message, path: str) -> str:
    """The link to `path` in an email's own text, as a reader would follow it (scheme and host dropped)."""
    found = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]*)", text_of(message))
    assert found, f"no link to {path} in:\n{text_of(message)}"
    return found.group(1)
