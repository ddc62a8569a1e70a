"""Account emails (issue 21 item 7): the outbox, rendered from templates, sent over real SMTP (aiosmtpd) by the
scheduler's job and by `flask reminders dispatch`; retried with backoff; a link's token erased once sent and
never in a log."""
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from backend.accounts.emails import SENDING_TIMEOUT, queue_email, send_account_emails
from backend.accounts.models import AccountEmail, User
from backend.db_types import utcnow
from backend.extensions import db
from backend.logs import redact
from tests.helpers import Sink, free_port, link_in, text_of


def queue_verification(app, account, secret: str = "the-secret-token") -> str:
    with app.app_context():
        user = db.session.get(User, account.id)
        email = queue_email("verify_email", user.email, user=user, secret=secret, facts={"hours": 72})
        db.session.commit()
        return email.id


def outbox(app) -> list[AccountEmail]:
    with app.app_context():
        return db.session.scalars(select(AccountEmail).order_by(AccountEmail.created_at)).all()


def send(app, now=None):
    with app.app_context():
        return send_account_emails(now)


def test_a_queued_email_goes_out_with_text_and_html_and_its_token_is_erased(app, api, smtp):
    account = api.register()
    email_id = queue_verification(app, account)
    assert send(app).sent >= 1
    (message,) = [m for m in smtp.to(account.email) if "confirm" in m["Subject"].lower()]
    assert message["Message-ID"] == f"<account-{email_id}@myodiary.example>"
    assert link_in(message, "/dashboard/verify-email") == "/dashboard/verify-email?token=the-secret-token"
    assert "the-secret-token" in message.get_body(("html",)).get_content()
    assert text_of(message).startswith("Hello Caregiver 1,")
    row = next(row for row in outbox(app) if row.id == email_id)
    assert row.status == "sent" and row.secret is None and row.sent_at is not None


def test_the_token_is_sealed_while_it_waits(app, api):
    account = api.register()
    email_id = queue_verification(app, account)
    row = next(row for row in outbox(app) if row.id == email_id)
    assert row.secret and "the-secret-token" not in row.secret


def test_a_mail_server_that_is_down_is_retried_with_backoff_then_delivers_once(app, api):
    account = api.register()
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    queue_verification(app, account)
    result = send(app)
    assert result.sent == 0 and result.retrying >= 1
    waiting = [row for row in outbox(app) if row.kind == "verify_email" and row.secret is not None]
    assert waiting and all(row.status == "pending" and row.next_attempt_at > utcnow() for row in waiting)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert send(app).sent == 0  # not before its backoff
        later = utcnow() + timedelta(minutes=2)
        sent = send(app, later).sent
        assert sent >= 1 and send(app, later).sent == 0
        assert len([m for m in sink.to(account.email) if "confirm" in m["Subject"].lower()]) == 1
    finally:
        controller.stop()


def test_a_claim_left_by_a_sender_that_died_is_taken_again(app, api, smtp):
    account = api.register()
    email_id = queue_verification(app, account)
    with app.app_context():
        row = db.session.get(AccountEmail, email_id)
        row.status, row.claimed_by, row.claimed_at = "sending", "dead-worker", utcnow()
        db.session.commit()
    assert send(app).sent == 0
    assert send(app, utcnow() + SENDING_TIMEOUT + timedelta(seconds=1)).sent == 1
    assert len([m for m in smtp.to(account.email) if "confirm" in m["Subject"].lower()]) == 1


def test_two_senders_at_once_never_send_an_email_twice(app, api, smtp):
    accounts = [api.register() for _ in range(3)]
    for account in accounts:
        for number in range(4):
            queue_verification(app, account, secret=f"token-{number}")
    results = []

    def worker(name):
        results.append(send_in_thread(app, name))

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    verifications = [m for _, m in smtp.messages if "confirm" in m["Subject"].lower()]
    assert len(verifications) == 12 and len({m["Message-ID"] for m in verifications}) == 12


def send_in_thread(app, name: str):
    with app.app_context():
        return send_account_emails(worker=name)


def test_without_a_mail_server_account_emails_are_written_as_eml_files(app, api):
    app.config.update(MAIL_SERVER="")
    account = api.register()
    email_id = queue_verification(app, account)
    send(app)
    assert (Path(app.config["INSTANCE_DIR"]) / "outbox" / f"account-{email_id}.eml").exists()


def test_one_reminders_dispatch_also_sends_every_queued_account_email(app, api, smtp):
    account = api.register()
    queue_verification(app, account)
    result = app.test_cli_runner().invoke(args=["reminders", "dispatch"])
    assert result.exit_code == 0 and "account emails: sent" in result.output
    assert [m for m in smtp.to(account.email) if "confirm" in m["Subject"].lower()]
    assert all(row.status == "sent" for row in outbox(app))


def test_the_scheduler_sends_account_emails_within_seconds(app, api, smtp):
    from backend.jobs import ACCOUNT_EMAILS_JOB_ID, build_scheduler, run

    app.config.update(ACCOUNT_EMAIL_INTERVAL_SECONDS=1)
    account = api.register()
    scheduler = build_scheduler(app)
    thread = threading.Thread(target=run, args=(scheduler,), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        queue_verification(app, account)
        deadline = time.monotonic() + 15
        while not [m for m in smtp.to(account.email) if "confirm" in m["Subject"].lower()]:
            assert time.monotonic() < deadline, "the account email was not sent within seconds"
            time.sleep(0.2)
        job = scheduler.get_job(ACCOUNT_EMAILS_JOB_ID)
        assert job.coalesce is True and job.max_instances == 1
        assert job.trigger.interval == timedelta(seconds=1)
    finally:
        scheduler.shutdown(wait=True)
        thread.join(timeout=10)


@pytest.mark.parametrize("line", [
    'GET /dashboard/verify-email?token=abc.DEF-123_x HTTP/1.1',
    'GET /dashboard/reset-password?token=abc.DEF-123_x HTTP/1.1',
    'POST /api/v1/password-resets/abc.DEF-123_x HTTP/1.1',
])
def test_tokens_in_links_never_reach_a_log(line):
    assert "abc.DEF-123_x" not in redact(line)



def test_the_access_log_of_a_link_page_carries_no_token():
    """gunicorn's atoms as the access log formats them (backend/gunicorn_config.py sets this logger)."""
    from gunicorn.config import Config

    from backend.gunicorn_logging import RedactingGunicornLogger

    uri, referer = "/dashboard/verify-email?token=SECRET-1", "https://app.example/dashboard/reset-password?token=SECRET-2"
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": uri, "PATH_INFO": "/dashboard/verify-email",
               "QUERY_STRING": "token=SECRET-1", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_REFERER": referer}
    response = SimpleNamespace(status="200 OK", response_length=10, sent=10, headers=[])
    request = SimpleNamespace(headers=[("REFERER", referer)], method="GET", path="/dashboard/verify-email",
                              query="token=SECRET-1", version=(1, 1), uri=uri)
    atoms = RedactingGunicornLogger(Config()).atoms(response, request, environ, timedelta(seconds=0.1))
    assert atoms["r"] == "GET /dashboard/verify-email?token=[redacted] HTTP/1.1"
    assert not [key for key, value in atoms.items() if "SECRET" in str(value)]
