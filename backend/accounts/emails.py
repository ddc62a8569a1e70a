"""Account emails (verification, password reset, changed email or password, new device, a sign-up attempt).

Queued in the transaction that causes them (`queue_email`), so a rolled-back request sends nothing and a
committed one is never lost; sent through the reminders' SMTP path by the scheduler within seconds, and by
every `flask reminders dispatch`. A link's secret is sealed (backend/crypto.py) until sent, then erased.

Sending claims rows as the reminder dispatch does (backend/reminders/dispatch.py): picked FOR UPDATE SKIP
LOCKED and claimed by a conditional UPDATE (PostgreSQL; SQLite has one writer at a time), so two senders
never send one email twice; a claim older than SENDING_TIMEOUT died with its sender and is taken again.
Templates: templates/account_emails/<kind>.txt (its first line `Subject: ...`) and <kind>.html, rendered when
sent, in the recipient account's language at that time (`locale`; an email for no account keeps the language of
the request that queued it); the facts keep values (an instant, a number of hours), never words.
"""
import json
import logging
import os
import smtplib
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlencode

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import and_, or_, select, update

from backend.accounts.models import AccountEmail, User
from backend.crypto import seal, unseal
from backend.database import kept_after_commit, writing_transactions
from backend.db_types import utcnow
from backend.extensions import db
from backend.i18n import day, duration, language_tag, offered, requested_locale, time_of_day
from backend.mail.headers import MAIL_DOMAIN, WIRE, address, header_text, mailbox, sender_mailbox
from backend.mail.transport import BACKOFF, MAX_ATTEMPTS, Envelope, mailer_for
from backend.observability.events import count as count_event

log = logging.getLogger(__name__)
KINDS = ("verify_email", "password_reset", "email_changed", "password_changed", "new_device",
         "registration_attempt")
LINK_PATHS = {"verify_email": "/dashboard/verify-email", "password_reset": "/dashboard/reset-password"}
SENDING_TIMEOUT = timedelta(minutes=10)  # a claim older than this died with its sender
BATCH = 50
ENVIRONMENT = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                          autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                          extensions=["jinja2.ext.i18n"])
ENVIRONMENT.install_gettext_callables(gettext, ngettext, newstyle=True)
ENVIRONMENT.globals.update(day=day, time_of_day=time_of_day, duration=duration, language_tag=language_tag)


def queue_email(kind: str, to_address: str, *, user: User | None = None, secret: str | None = None,
                facts: dict | None = None) -> AccountEmail:
    """Queue one email in the current transaction. `secret` is the token its link carries (sealed at rest);
    `facts` is what the template says (JSON; never a secret). An email for no account is written in the
    request's language."""
    if kind not in KINDS:
        raise ValueError(f"unknown account email kind {kind!r}")
    if user is None:
        facts = {**(facts or {}), "locale": requested_locale()}
    email = AccountEmail(user_id=user.id if user is not None else None, kind=kind, to_address=to_address,
                         facts=json.dumps(facts or {}), secret=seal(secret) if secret else None,
                         next_attempt_at=utcnow())
    db.session.add(email)
    return email


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        count_event("account_emails", outcome)  # /metrics

    def __str__(self) -> str:
        return f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}"


def send_account_emails(now: datetime | None = None, worker: str | None = None) -> SendResult:
    """Send every account email that is due: claim a batch, send each, mark each in a commit of its own."""
    now = now or utcnow()
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    result = SendResult()
    waiting = db.session.scalar(select(AccountEmail.id).where(_claimable(now)).limit(1))
    db.session.rollback()  # a read alone: asked every few seconds, it takes no write lock and no mail connection
    if waiting is None:
        return result
    with writing_transactions(), kept_after_commit(db.session()), mailer_for(current_app.config) as mailer:
        while claimed := claim(now, worker, BATCH):
            for email in claimed:
                result.count(send_one(email, mailer, now))
                db.session.commit()
    return result


def _claimable(now: datetime):
    return or_(and_(AccountEmail.status == "pending", AccountEmail.next_attempt_at <= now),
               and_(AccountEmail.status == "sending", AccountEmail.claimed_at < now - SENDING_TIMEOUT))


def claim(now: datetime, worker: str, limit: int) -> list[AccountEmail]:
    """At most `limit` due rows, locked when picked and claimed by a conditional UPDATE (see the docstring)."""
    token = f"{worker}:{uuid.uuid4().hex[:8]}"[:64]
    picked = db.session.scalars(select(AccountEmail.id).where(_claimable(now)).order_by(
        AccountEmail.next_attempt_at).limit(limit).with_for_update(skip_locked=True)).all()
    claimed = list(db.session.scalars(
        update(AccountEmail).where(AccountEmail.id.in_(picked), _claimable(now)).values(
            status="sending", claimed_by=token, claimed_at=now).returning(AccountEmail),
        execution_options={"synchronize_session": False, "populate_existing": True}))
    db.session.commit()
    return sorted(claimed, key=lambda email: (email.next_attempt_at, email.id))


def send_one(email: AccountEmail, mailer, now: datetime) -> str:
    """Render and send one claimed email; sent (its secret erased), or retried later with backoff, or failed."""
    email.attempts += 1
    try:
        envelope = Envelope.of(*_message(email))
        mailer.send(envelope, f"account-{email.id}")
    except (smtplib.SMTPException, OSError) as error:
        return _retry_later(email, now, f"{type(error).__name__}: {error}")
    except Exception as error:  # noqa: BLE001 - a fault in one email (e.g. its template) stays with that email
        log.exception("account email %s (%s) could not be sent", email.id, email.kind)
        return _retry_later(email, now, f"{type(error).__name__}: {error}")
    email.status, email.sent_at, email.secret, email.last_error = "sent", now, None, None
    return "sent"


def _retry_later(email: AccountEmail, now: datetime, error: str) -> str:
    email.last_error = error[:500]
    log.warning("account email %s (%s) not sent (attempt %d): %s", email.id, email.kind, email.attempts, error)
    if email.attempts >= MAX_ATTEMPTS:
        email.status, email.secret = "failed", None  # a link that never went out is of no use to anyone
        return "failed"
    email.status, email.next_attempt_at = "pending", now + BACKOFF[email.attempts - 1]
    return "retrying"


# ---- rendering -----------------------------------------------------------------------------------

def render(email: AccountEmail) -> tuple[str, str, str]:
    """The subject, plain text and HTML of one account email in the current language (the .txt's first line is
    `Subject: ...`)."""
    context = {"name": _recipient_name(email), "link": _link(email), "facts": _facts(email), "app_url": _app_url()}
    first, _, text = ENVIRONMENT.get_template(f"account_emails/{email.kind}.txt").render(context).partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"account_emails/{email.kind}.txt must start with a 'Subject: ...' line")
    html = ENVIRONMENT.get_template(f"account_emails/{email.kind}.html").render(context)
    return first.removeprefix("Subject:").strip(), text.lstrip("\n"), html


def recipient_locale(email: AccountEmail) -> str:
    """The recipient account's language now; for no account, the one kept when it was queued."""
    user = db.session.get(User, email.user_id) if email.user_id else None
    locale = user.locale if user is not None else json.loads(email.facts or "{}").get("locale")
    return offered(locale)


def _facts(email: AccountEmail) -> dict:
    facts = json.loads(email.facts or "{}")
    if "signed_in_at" in facts:  # ISO; an email queued before issue 22 kept '2026-12-03 20:00 UTC'
        instant = datetime.fromisoformat(facts["signed_in_at"].removesuffix(" UTC"))
        facts["signed_in_at"] = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return facts


def _message(email: AccountEmail) -> tuple[MIMEMultipart, str, tuple[str, ...]]:
    """multipart/alternative (text, HTML) to the stored address alone, in the recipient's language: recipients
    never come from a header."""
    with force_locale(recipient_locale(email)):
        subject, text, html = render(email)
        language = language_tag()
    sender = sender_mailbox(current_app.config["MAIL_SENDER"])
    message = MIMEMultipart("alternative", policy=WIRE)
    message["From"] = address(sender)
    message["To"] = address(mailbox(_recipient_name(email), email.to_address))
    message["Subject"] = header_text(subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<account-{email.id}@{MAIL_DOMAIN}>"  # one id, however often it is retried
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = language
    message.attach(MIMEText(text, "plain", "utf-8", policy=WIRE))
    message.attach(MIMEText(html, "html", "utf-8", policy=WIRE))
    return message, sender.addr_spec, (email.to_address,)


def _recipient_name(email: AccountEmail) -> str:
    user = db.session.get(User, email.user_id) if email.user_id else None
    return user.name if user is not None and user.deleted_at is None else ""


def _link(email: AccountEmail) -> str | None:
    if not email.secret or email.kind not in LINK_PATHS:
        return None
    secret = unseal(email.secret)
    if secret is None:
        raise ValueError("the link's token was sealed under another SECRET_KEY")
    return f"{_app_url()}{LINK_PATHS[email.kind]}?{urlencode({'token': secret})}"


def _app_url() -> str:
    return current_app.config["APP_URL"].rstrip("/")
