"""A family's data can stop nobody else's reminders, and no user text reaches an SMTP envelope or header.

Names with CR/LF are refused at the API now; these rows stand for ones stored before that (written
straight to the database), and for any rendering fault still unknown.
"""
from datetime import UTC, datetime

import time_machine
from sqlalchemy import update

from backend.accounts.models import User
from backend.children.models import Child
from backend.extensions import db
from backend.mail.transport import BACKOFF
from backend.reminders import delivery
from tests.test_reminders import BERLIN_SUNDAY_EVENING, reminders, run_dispatch, schedule, smtp  # noqa: F401

POISONED_NAMES = ("A\nB", "Mila\r\nBcc: spy@evil.example", "Noah\x0bX")
INJECTING_USER = "Eve\r\n Bcc: spy@evil.example"


def families_with_schedules(api, client, count: int) -> list[tuple]:
    """(owner, child id) for `count` families, each with a weekly schedule to its owner alone."""
    owners = [api.register() for _ in range(count)]  # tokens issued now, valid when the test reads back
    families = [(owner, api.create_child(owner, birth_date="2026-01-10")["id"]) for owner in owners]
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        for owner, child_id in families:
            schedule(client, owner, child_id, recipients=[owner.id])
    return families


def store_directly(app, model, row_id: str, **values) -> None:
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(**values))
        db.session.commit()


def test_a_child_whose_name_breaks_headers_and_charts_stops_no_other_family(app, client, api, smtp):  # noqa: F811
    families = families_with_schedules(api, client, 4)
    for (_, child_id), name in zip(families[1:], POISONED_NAMES, strict=True):
        store_directly(app, Child, child_id, name=name)
    with time_machine.travel(BERLIN_SUNDAY_EVENING, tick=False):
        result = run_dispatch(app)
    assert result.sent == 4 and {r.status for r in reminders(app)} == {"sent"}
    assert sorted(rcpt for rcpt, _ in smtp.messages) == sorted([owner.email] for owner, _ in families)
    for _, message in smtp.messages:
        assert "\n" not in message["Subject"] and "Bcc" not in message and "spy@" not in message["To"]


def test_a_message_that_cannot_be_rendered_fails_alone_and_is_retried_on_schedule(app, client, api, smtp,  # noqa: F811
                                                                                   monkeypatch):
    families = families_with_schedules(api, client, 3)
    poisoned = families[1][1]
    real_chart = delivery.email_chart_png

    def chart_failing_for_one_child(report):
        if report.child.id == poisoned:
            raise RuntimeError("raqm_layout() failed")
        return real_chart(report)

    monkeypatch.setattr(delivery, "email_chart_png", chart_failing_for_one_child)
    with time_machine.travel(BERLIN_SUNDAY_EVENING, tick=False):
        result = run_dispatch(app)
    assert (result.sent, result.retrying) == (2, 1)
    assert sorted(rcpt for rcpt, _ in smtp.messages) == sorted([families[i][0].email] for i in (0, 2))
    (stuck,) = [r for r in reminders(app) if r.child_id == poisoned]
    assert stuck.status == "pending" and stuck.attempts == 1 and "raqm_layout() failed" in stuck.last_error
    assert stuck.next_attempt_at.replace(tzinfo=UTC) == BERLIN_SUNDAY_EVENING + BACKOFF[0]
    history = client.get(f"/api/v1/children/{poisoned}/reminders", headers=families[1][0].headers).json["items"]
    assert history[0]["status"] == "pending" and "raqm_layout() failed" in history[0]["last_error"]

    monkeypatch.setattr(delivery, "email_chart_png", real_chart)
    with time_machine.travel(BERLIN_SUNDAY_EVENING + BACKOFF[0], tick=False):
        assert run_dispatch(app).sent == 1
    assert len(smtp.messages) == 3 and {r.status for r in reminders(app)} == {"sent"}


def test_a_user_name_cannot_add_a_recipient_or_a_header(app, client, api, smtp):  # noqa: F811
    ((owner, child_id),) = families_with_schedules(api, client, 1)
    store_directly(app, User, owner.id, name=INJECTING_USER)
    with time_machine.travel(BERLIN_SUNDAY_EVENING, tick=False):
        assert run_dispatch(app).sent == 1
    ((rcpt, message),) = smtp.messages
    assert rcpt == [owner.email]
    assert message["Bcc"] is None and "spy@evil.example" not in {a.addr_spec for a in message["To"].addresses}
    assert [a.addr_spec for a in message["To"].addresses] == [owner.email]
    assert message["To"].addresses[0].display_name == "Eve Bcc: spy@evil.example"
    assert message["X-Injected"] is None


def test_the_preview_of_a_child_with_a_broken_name_still_answers(app, client, api):
    ((owner, child_id),) = families_with_schedules(api, client, 1)
    store_directly(app, Child, child_id, name="A\nB")
    store_directly(app, User, owner.id, name="Eve\nX-Injected: yes")
    preview = client.get(f"/api/v1/children/{child_id}/reminders/preview", headers=owner.headers)
    assert preview.status_code == 200, preview.json
    assert "\n" not in preview.json["subject"] and "\n" not in preview.json["to"]
    for chart in ("chart.png", "chart.svg"):
        assert client.get(f"/api/v1/children/{child_id}/trends/{chart}", headers=owner.headers).status_code == 200
    assert client.get(f"/api/v1/children/{child_id}/report.pdf", headers=owner.headers).status_code == 200

