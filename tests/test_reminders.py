"""Follow-up reminders: schedules, dispatch over real SMTP (aiosmtpd), DST, retries, no duplicates."""
import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import select

from backend.extensions import db
from backend.reminders.dispatch import dispatch
from backend.reminders.models import Reminder, SchedulerHeartbeat
from tests.helpers import assert_error, episode_body

BERLIN_SUNDAY_EVENING = datetime(2026, 3, 22, 18, 0, tzinfo=UTC)  # 19:00 CET


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A real SMTP server on 127.0.0.1, and the app pointed at it."""
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    yield sink
    controller.stop()


def run_dispatch(app, now=None):
    with app.app_context():
        return dispatch(now)


def schedule(client, account, child_id, **fields):
    body = {"cadence": "weekly", "weekday": "sunday", "local_time": "19:00", "enabled": True, **fields}
    return client.put(f"/api/v1/children/{child_id}/reminder-schedule", json=body, headers=account.headers)


def reminders(app):
    with app.app_context():
        return db.session.scalars(select(Reminder).order_by(Reminder.created_at)).all()


def test_a_schedule_starts_off_and_names_its_recipients(client, family):
    got = client.get(f"/api/v1/children/{family['child']['id']}/reminder-schedule", headers=family["owner"].headers)
    assert got.status_code == 200
    assert got.json["enabled"] is False and got.json["timezone"] == "Europe/Berlin" and got.json["next_due_at"] is None
    assert {r["user_id"] for r in got.json["effective_recipients"]} == {family["owner"].id, family["caregiver"].id}


@time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False)
def test_putting_a_schedule_computes_the_next_local_slot(client, family):
    response = schedule(client, family["owner"], family["child"]["id"], recipients=[family["clinician"].id])
    assert response.status_code == 200
    assert response.json["next_due_at"] == "2026-03-22T18:00:00+00:00"  # Sunday 19:00 CET
    assert [r["user_id"] for r in response.json["effective_recipients"]] == [family["clinician"].id]


@pytest.mark.parametrize("fields, field", [
    ({"cadence": "daily"}, "cadence"), ({"weekday": "funday"}, "weekday"), ({"local_time": "24:00"}, "local_time"),
    ({"local_time": "7pm"}, "local_time"), ({"timezone": "Mars/Base"}, "timezone"),
    ({"recipients": ["not-a-member"]}, "recipients"),
])
def test_bad_schedules_are_named(client, family, fields, field):
    assert_error(schedule(client, family["owner"], family["child"]["id"], **fields), 422, field=field)


def test_only_caregivers_change_the_schedule(client, family, api):
    assert_error(schedule(client, family["clinician"], family["child"]["id"]), 403)
    assert_error(schedule(client, api.register(), family["child"]["id"]), 404)


def test_weekly_emails_go_out_at_local_time_across_a_dst_change(app, client, family, smtp):
    child_id = family["child"]["id"]
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        schedule(client, family["owner"], child_id)
    with time_machine.travel(BERLIN_SUNDAY_EVENING - timedelta(minutes=1), tick=False):
        assert run_dispatch(app).sent == 0
    with time_machine.travel(BERLIN_SUNDAY_EVENING, tick=False):
        assert run_dispatch(app).sent == 2
    # Clocks jump to summer time on 29 March: 19:00 CEST is 17:00 UTC.
    with time_machine.travel(datetime(2026, 3, 29, 16, 59, tzinfo=UTC), tick=False):
        assert run_dispatch(app).sent == 0
    with time_machine.travel(datetime(2026, 3, 29, 17, 0, tzinfo=UTC), tick=False):
        assert run_dispatch(app).sent == 2
    assert sorted({r.period_key for r in reminders(app)}) == ["2026-03-22", "2026-03-29"]
    assert len(smtp.messages) == 4


def test_the_email_carries_both_bodies_the_chart_and_one_click_unsubscribe(app, client, family, smtp):
    child_id = family["child"]["id"]
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        schedule(client, family["owner"], child_id, recipients=[family["owner"].id])
    with time_machine.travel(BERLIN_SUNDAY_EVENING, tick=False):
        run_dispatch(app)
    (rcpt, message), = smtp.messages
    assert rcpt == [family["owner"].email] and family["owner"].email in message["To"]
    assert message["Subject"], message.keys()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", message.as_string()[:1500]
    link = message["List-Unsubscribe"].split("<")[1].split(">")[0]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "not a diagnosis" in text and "not a diagnosis" in html and link in text
    image = next(part for part in message.walk() if part.get_content_type() == "image/png")
    assert f"cid:{image['Content-ID'].strip('<>')}" in html
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.get(f"/{path}").status_code == 200  # a confirmation page; GET changes nothing
    assert client.post(f"/{path}", data="List-Unsubscribe=One-Click").status_code == 200
    with time_machine.travel(BERLIN_SUNDAY_EVENING + timedelta(weeks=1), tick=False):
        result = run_dispatch(app)
    assert result.sent == 0 and len(smtp.messages) == 1


def test_after_downtime_a_missed_slot_is_sent_once(app, client, family, smtp):
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        schedule(client, family["owner"], family["child"]["id"], recipients=[family["owner"].id])
    with time_machine.travel(BERLIN_SUNDAY_EVENING + timedelta(weeks=3, hours=5), tick=False):
        assert run_dispatch(app).sent == 1
        assert run_dispatch(app).sent == 0
    history = client.get(f"/api/v1/children/{family['child']['id']}/reminders", headers=family["owner"].headers)
    assert [r["status"] for r in history.json["items"]] == ["sent"]


def test_smtp_down_then_up_delivers_once(app, client, family):
    child_id = family["child"]["id"]
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        schedule(client, family["owner"], child_id, recipients=[family["owner"].id])
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_TIMEOUT_SECONDS=2)
    with time_machine.travel(BERLIN_SUNDAY_EVENING, tick=False):
        assert run_dispatch(app).retrying == 1
    (reminder,) = reminders(app)
    assert reminder.status == "pending" and reminder.attempts == 1 and "Connection" in reminder.last_error
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with time_machine.travel(BERLIN_SUNDAY_EVENING + timedelta(seconds=30), tick=False):
            assert run_dispatch(app).sent == 0  # the backoff has not passed yet
        with time_machine.travel(BERLIN_SUNDAY_EVENING + timedelta(minutes=2), tick=False):
            assert run_dispatch(app).sent == 1
            assert run_dispatch(app).sent == 0
    finally:
        controller.stop()
    assert len(sink.messages) == 1 and reminders(app)[0].status == "sent"


def test_without_a_mail_server_emails_are_written_as_eml_files(app, client, family):
    app.config.update(MAIL_SERVER="")
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        schedule(client, family["owner"], family["child"]["id"], recipients=[family["owner"].id])
    with time_machine.travel(BERLIN_SUNDAY_EVENING, tick=False):
        assert run_dispatch(app).sent == 1
    files = list((Path(app.config["INSTANCE_DIR"]) / "outbox").glob("*.eml"))
    assert len(files) == 1 and b"List-Unsubscribe" in files[0].read_bytes()


def test_two_dispatchers_at_once_never_send_twice(app, client, api, smtp):
    owner = api.register()
    children = [api.create_child(owner)["id"] for _ in range(12)]
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        for child_id in children:
            schedule(client, owner, child_id)
    start = threading.Barrier(2)
    results = []

    def worker(name):
        start.wait()
        results.append(run_dispatch(app, BERLIN_SUNDAY_EVENING))

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(r.sent for r in results) == 12 and len(smtp.messages) == 12
    assert len({m["Message-ID"] for _, m in smtp.messages}) == 12


def test_bnsm_gets_a_follow_up_prompt_at_three_months_corrected_once(app, client, api, smtp):
    owner = api.register()
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        child = api.create_child(owner, birth_date="2025-12-19", condition="bnsm")  # 13 weeks on 20 March
        schedule(client, owner, child["id"])
    with time_machine.travel(BERLIN_SUNDAY_EVENING, tick=False):
        run_dispatch(app)
    with time_machine.travel(datetime(2026, 3, 29, 17, tzinfo=UTC), tick=False):
        run_dispatch(app)
    assert [r.kind for r in reminders(app)] == ["follow_up_3m", "scheduled"]
    assert "follow-up" in smtp.messages[0][1]["Subject"].lower()


def test_a_new_red_flag_prompts_at_the_next_dispatch_once(app, client, family, smtp):
    child_id = family["child"]["id"]
    schedule(client, family["owner"], child_id, recipients=[family["owner"].id])
    client.post(f"/api/v1/children/{child_id}/episodes", headers=family["owner"].headers,
                json=episode_body(sleep_state="awake", started_at=f"{date.today() - timedelta(days=1)}T10:00:00+01:00"))
    assert run_dispatch(app).sent == 1
    assert run_dispatch(app).sent == 0
    (reminder,) = reminders(app)
    assert (reminder.kind, reminder.period_key) == ("red_flag", "red_flag:awake_episodes")
    assert "clinician" in smtp.messages[0][1].get_body(("plain",)).get_content()


def test_several_new_red_flags_make_one_email_per_recipient(app, client, family, smtp):
    child_id = family["child"]["id"]
    schedule(client, family["owner"], child_id, recipients=[family["owner"].id])
    client.post(f"/api/v1/children/{child_id}/episodes", headers=family["owner"].headers, json=episode_body(
        sleep_state="awake", stopped_when_woken="no", started_at=f"{date.today() - timedelta(days=1)}T10:00:00+01:00"))
    assert run_dispatch(app).sent == 1
    (reminder,) = reminders(app)
    assert reminder.period_key == "red_flag:awake_episodes,not_stopping_on_waking"
    text = smtp.messages[0][1].get_body(("plain",)).get_content()
    assert "awake" in text and "did not stop" in text


def test_the_preview_is_the_next_email(client, family):
    schedule(client, family["owner"], family["child"]["id"])
    preview = client.get(f"/api/v1/children/{family['child']['id']}/reminders/preview",
                         headers=family["clinician"].headers)
    assert preview.status_code == 200 and preview.json["subject"]
    assert family["clinician"].email in preview.json["to"] and "<html" in preview.json["html"].lower()


def test_members_opt_out_and_back_in(app, client, family, smtp):
    child_id = family["child"]["id"]
    schedule(client, family["owner"], child_id)
    url = f"/api/v1/children/{child_id}/reminder-schedule/opt-out"
    assert client.post(url, headers=family["caregiver"].headers).status_code == 204
    described = client.get(f"/api/v1/children/{child_id}/reminder-schedule", headers=family["owner"].headers).json
    assert {r["user_id"]: r["opted_out"] for r in described["effective_recipients"]}[family["caregiver"].id] is True
    assert client.delete(url, headers=family["caregiver"].headers).status_code == 204


def test_the_cli_dispatches_once_at_a_given_instant(app, client, family):
    app.config.update(MAIL_SERVER="")
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        schedule(client, family["owner"], family["child"]["id"], recipients=[family["owner"].id])
    result = app.test_cli_runner().invoke(args=["reminders", "dispatch", "--now", "2026-03-22T19:00:00+01:00"])
    assert result.exit_code == 0 and "sent 1" in result.output
    bad = app.test_cli_runner().invoke(args=["reminders", "dispatch", "--now", "2026-03-22T19:00:00"])
    assert bad.exit_code != 0


def test_readyz_reports_a_stale_scheduler_heartbeat(app, client):
    assert client.get("/readyz").json["checks"]["scheduler"] == "absent"
    with app.app_context():
        db.session.merge(SchedulerHeartbeat(name="scheduler", beat_at=datetime.now(UTC)))
        db.session.commit()
    assert client.get("/readyz").json["checks"]["scheduler"] == "ok"
    with app.app_context():
        db.session.merge(SchedulerHeartbeat(name="scheduler", beat_at=datetime.now(UTC) - timedelta(minutes=10)))
        db.session.commit()
    assert_error(client.get("/readyz"), 503, field="scheduler")


def test_the_scheduler_process_runs_the_dispatch_job_from_its_job_store(app):
    from backend.jobs import DISPATCH_JOB_ID, build_scheduler, run

    app.config.update(MAIL_SERVER="")
    scheduler = build_scheduler(app)
    thread = threading.Thread(target=run, args=(scheduler,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        beat = None
        while beat is None and time.monotonic() < deadline:
            time.sleep(0.2)
            with app.app_context():
                beat = db.session.get(SchedulerHeartbeat, "scheduler")
        assert beat is not None, "the dispatch job never ran"
        job = scheduler.get_job(DISPATCH_JOB_ID)
        assert job.coalesce is True and job.max_instances == 1
    finally:
        scheduler.shutdown(wait=True)
        thread.join(timeout=10)


def unsubscribe_link(app, child_id: str, user_id: str, at: datetime) -> str:
    from backend.reminders.tokens import unsubscribe_token

    with app.app_context(), time_machine.travel(at, tick=False):
        return f"/api/v1/reminders/unsubscribe/{unsubscribe_token(child_id, user_id)}"


def opted_out(client, family) -> dict:
    described = client.get(f"/api/v1/children/{family['child']['id']}/reminder-schedule",
                           headers=family["owner"].headers).json
    return {r["user_id"]: r["opted_out"] for r in described["effective_recipients"]}


def test_an_unsubscribe_link_expires_after_a_year(app, client, family):
    now = datetime.now(UTC)
    fresh = unsubscribe_link(app, family["child"]["id"], family["owner"].id, now - timedelta(days=300))
    stale = unsubscribe_link(app, family["child"]["id"], family["owner"].id, now - timedelta(days=366))
    for method in ("GET", "POST"):
        page = client.open(stale, method=method)
        assert page.status_code == 404 and b"Mila" not in page.data and b"not valid" in page.data
    assert opted_out(client, family)[family["owner"].id] is False
    assert b"Mila" in client.get(fresh).data and client.post(fresh).status_code == 200
    assert opted_out(client, family)[family["owner"].id] is True


def test_an_unsubscribe_link_shows_nothing_once_the_child_is_deleted_or_the_recipient_left(app, client, family):
    child_id, caregiver = family["child"]["id"], family["caregiver"]
    left = unsubscribe_link(app, child_id, caregiver.id, datetime.now(UTC))
    owners = unsubscribe_link(app, child_id, family["owner"].id, datetime.now(UTC))
    leaving = client.delete(f"/api/v1/children/{child_id}/members/{caregiver.id}", headers=caregiver.headers)
    assert leaving.status_code == 204
    page = client.get(left)
    assert page.status_code == 404 and b"Mila" not in page.data
    assert client.delete(f"/api/v1/children/{child_id}", headers=family["owner"].headers).status_code == 204
    for method in ("GET", "POST"):
        page = client.open(owners, method=method)
        assert page.status_code == 404 and b"Mila" not in page.data
