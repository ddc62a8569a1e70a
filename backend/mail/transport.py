"""Sending email (reminders and account emails): SMTP when MAIL_SERVER is set, else .eml files in instance/outbox/."""
import contextlib
import logging
import smtplib
import ssl
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from email.generator import BytesGenerator
from email.message import Message
from io import BytesIO
from pathlib import Path

from backend.private_files import private_folder, write_private

log = logging.getLogger(__name__)
# A failed send is tried again after these waits, then given up (reminders and account emails alike).
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
           timedelta(hours=3))
MAX_ATTEMPTS = len(BACKOFF) + 1


@dataclass(frozen=True)
class Envelope:
    """A message as it goes on the wire, flattened by the caller (smtplib's send_message, done ahead)."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes

    @classmethod
    def of(cls, message: Message, sender: str, recipients: tuple[str, ...]) -> "Envelope":
        buffer = BytesIO()
        BytesGenerator(buffer, policy=message.policy).flatten(message, linesep="\r\n")
        return cls(sender, recipients, buffer.getvalue())


class SmtpMailer:
    """One connection per dispatch pass, opened on the first message, reopened after a failure."""

    def __init__(self, config: dict):
        self.host, self.port = config["MAIL_SERVER"], config["MAIL_PORT"]
        self.use_ssl, self.use_tls = config["MAIL_USE_SSL"], config["MAIL_USE_TLS"]
        self.username, self.password = config["MAIL_USERNAME"], config["MAIL_PASSWORD"]
        self.timeout = config["MAIL_TIMEOUT_SECONDS"]
        self.connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.connection.quit()
            self.connection = None

    def _connect(self):
        context = ssl.create_default_context()
        if self.use_ssl:
            connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.use_tls:
                connection.starttls(context=context)
        if self.username:
            connection.login(self.username, self.password or "")
        return connection

    def send(self, envelope: Envelope, name: str) -> str:
        try:
            self.connection = self.connection or self._connect()
            self.connection.sendmail(envelope.sender, list(envelope.recipients), envelope.data)
        except (smtplib.SMTPException, OSError):
            self.close()
            raise
        return f"smtp://{self.host}:{self.port}"


class FileMailer:
    """Without a mail server (make run): each email becomes an .eml file, and the path is logged."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __enter__(self):
        private_folder(self.folder)
        return self

    def __exit__(self, *exc) -> None:
        pass

    def send(self, envelope: Envelope, name: str) -> str:
        path = self.folder / f"{name}.eml"
        write_private(path, envelope.data)
        log.info("email written to %s", path)
        return str(path)


def mailer_for(config: dict):
    if config["MAIL_SERVER"]:
        return SmtpMailer(config)
    return FileMailer(Path(config["INSTANCE_DIR"]) / "outbox")


class Courier:
    """Hands messages to the mailer on a thread of its own, one after another: the dispatcher renders the
    next email while the mail server answers the last (dispatch.send_claimed keeps one message in flight)."""

    def __init__(self, mailer):
        self.mailer = mailer
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.thread.shutdown(wait=True)

    def send(self, envelope: Envelope, name: str) -> Future:
        """A future of where it went (mailer.send's result), or of the SMTP or socket error."""
        return self.thread.submit(self.mailer.send, envelope, name)
