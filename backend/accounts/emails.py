"""Account emails (verification, password reset, changed email or password, new device, a sign-up attempt).

Queued in the transaction that causes them (`queue_email`), so a rolled-back request sends nothing and a
committed one is never lost; sent through the reminders' SMTP path by the scheduler within seconds, and by
every `flask reminders dispatch`. A link's secret is sealed (backend/crypto.py) until sent, then erased.
"""
import json

from backend.accounts.models import AccountEmail, User
from backend.crypto import seal
from backend.db_types import utcnow
from backend.extensions import db

KINDS = ("verify_email", "password_reset", "email_changed", "password_changed", "new_device",
         "registration_attempt")


def queue_email(kind: str, to_address: str, *, user: User | None = None, secret: str | None = None,
                facts: dict | None = None) -> AccountEmail:
    """Queue one email in the current transaction. `secret` is the token its link carries (sealed at rest);
    `facts` is what the template says (JSON; never a secret)."""
    if kind not in KINDS:
        raise ValueError(f"unknown account email kind {kind!r}")
    email = AccountEmail(user_id=user.id if user is not None else None, kind=kind, to_address=to_address,
                         facts=json.dumps(facts or {}), secret=seal(secret) if secret else None,
                         next_attempt_at=utcnow())
    db.session.add(email)
    return email
