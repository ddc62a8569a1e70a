"""Reminders and development (issue 20 items 2 and 4), over HTTP and a real SMTP server (aiosmtpd).

The infantile-spasms pattern opens every email in the product's most urgent words, never a diagnosis; and in the
first year of corrected age the schedule's emails ask for a development check every 4 weeks.
"""
from datetime import UTC, date, datetime, timedelta

import time_machine

from backend.reminders.events import DEVELOPMENT_PROMPT_DAYS
from tests.helpers import episode_body
from tests.test_reminders import BERLIN_SUNDAY_EVENING, reminders, run_dispatch, schedule, smtp  # noqa: F401

NEW_SKILLS = "learned anything new since the last check (a smile, holding the head up, reaching, babbling...)?"
LOST_SKILLS = "stopped doing anything they could do before?"
SCHEDULED_AT = datetime(2026, 3, 20, 12, tzinfo=UTC)


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def log_check(client, account, child_id: str, checked_on: str, lost_skills: str = "no") -> None:
    response = client.post(f"/api/v1/children/{child_id}/development-checks", headers=account.headers, json={
        "checked_on": checked_on, "new_skills": "yes", "lost_skills": lost_skills, "concerns": []})
    assert response.status_code == 201, response.json


def log_waking_episode(client, account, child_id: str, ago: int) -> None:
    response = client.post(f"/api/v1/children/{child_id}/episodes", headers=account.headers, json=episode_body(
        sleep_state="waking", started_at=f"{days_ago(ago)}T05:30:00+01:00"))
    assert response.status_code == 201, response.json


def bodies(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def by_recipient(smtp_sink) -> dict[str, object]:  # noqa: F811
    return {rcpt[0]: message for rcpt, message in smtp_sink.messages}


# ---- the infantile-spasms pattern ----------------------------------------------------------------------------

def spasms_pattern_family(client, family) -> None:
    """Reminders on for both caregivers and the clinician; then a lost skill with 3 episodes on waking around it."""
    child_id, owner = family["child"]["id"], family["owner"]
    team = [owner.id, family["caregiver"].id, family["clinician"].id]
    assert schedule(client, owner, child_id, recipients=team).status_code == 200
    log_check(client, owner, child_id, days_ago(10), lost_skills="yes")
    for ago in (20, 9, 3):
        log_waking_episode(client, owner, child_id, ago)


def test_the_spasms_pattern_sends_the_most_urgent_email_once_to_each_caregiver(app, client, family, smtp):  # noqa: F811
    spasms_pattern_family(client, family)
    assert run_dispatch(app).sent == 3
    assert run_dispatch(app).sent == 0
    sent = by_recipient(smtp)
    for caregiver in (family["owner"], family["caregiver"]):
        message = sent[caregiver.email]
        assert message["Subject"] == "Mila: please contact your doctor soon"
        for body in bodies(message):
            assert body.index("Please contact your doctor soon about Mila.") < body.index("Here is Mila's diary")
            assert "not a diagnosis" in body and "spasms" not in body.lower()
            assert "A development check recorded that the child lost skills they had." in body
    assert [r.period_key for r in reminders(app)] == ["red_flag:lost_skills,spasms_pattern"] * 3


def test_the_clinician_email_counts_the_checks_and_the_episodes_on_waking(app, client, family, smtp):  # noqa: F811
    spasms_pattern_family(client, family)
    run_dispatch(app)
    message = by_recipient(smtp)[family["clinician"].email]
    assert message["Subject"].startswith("Mila (BNSM): please review soon (spasms_pattern, lost_skills); ")
    since = date.fromisoformat(days_ago(10))
    on = f"{since.day} {since:%B} {since.year}"
    for body in bodies(message):
        assert "Please review soon: lost skills or no new skills at a development check" in body
        assert f"spasms_pattern, 1 development check and 3 episodes on waking since {on}" in body
        assert f"lost_skills, 1 development check since {on}" in body
        assert "not a diagnosis" in body


def test_a_scheduled_email_still_opens_urgently_while_the_pattern_stands(app, client, family, smtp):  # noqa: F811
    spasms_pattern_family(client, family)
    run_dispatch(app)
    due = client.get(f"/api/v1/children/{family['child']['id']}/reminder-schedule",
                     headers=family["owner"].headers).json["next_due_at"]
    smtp.messages.clear()
    with time_machine.travel(datetime.fromisoformat(due), tick=False):
        assert run_dispatch(app).sent == 3
    sent = by_recipient(smtp)
    assert sent[family["owner"].email]["Subject"] == sent[family["caregiver"].email]["Subject"] \
        == "Mila: please contact your doctor soon"
    assert sent[family["clinician"].email]["Subject"].startswith("Mila (BNSM): please review soon (spasms_pattern)")
    assert sorted(r.kind for r in reminders(app))[3:] == ["scheduled"] * 3


# ---- development-check prompts ------------------------------------------------------------------------------

def child_on_schedule(api, client, birth_date: str, **fields) -> tuple:
    owner = api.register()
    child = api.create_child(owner, birth_date=birth_date, **fields)
    with time_machine.travel(SCHEDULED_AT, tick=False):
        assert schedule(client, owner, child["id"], recipients=[owner.id]).status_code == 200
    return owner, child["id"]


def asks_at(app, smtp_sink, at: datetime) -> bool:  # noqa: F811
    before = len(smtp_sink.messages)
    with time_machine.travel(at, tick=False):
        assert run_dispatch(app).sent == 1
    (_, message), = smtp_sink.messages[before:]
    text, html = bodies(message)
    asked = f"Has Mila {NEW_SKILLS}" in text and f"Has Mila {LOST_SKILLS}" in text
    assert asked == (f"Has Mila {LOST_SKILLS}" in html) == ("app's development check" in text)
    return asked


def sunday_evening(weeks_later: int) -> datetime:
    """19:00 in Berlin, `weeks_later` Sundays after 22 March 2026 (summer time from 29 March)."""
    day = BERLIN_SUNDAY_EVENING.date() + timedelta(weeks=weeks_later)
    return datetime(day.year, day.month, day.day, 18 if weeks_later == 0 else 17, tzinfo=UTC)


def test_a_ten_week_old_is_asked_every_four_weeks_until_a_check_is_logged(app, client, api, smtp):  # noqa: F811
    owner, child_id = child_on_schedule(api, client, "2026-01-11")  # 10 weeks on 22 March
    asked = [asks_at(app, smtp, sunday_evening(week)) for week in range(3)]
    with time_machine.travel(datetime(2026, 4, 10, 12, tzinfo=UTC), tick=False):
        log_check(client, owner, child_id, "2026-04-10")
    asked += [asks_at(app, smtp, sunday_evening(week)) for week in range(3, 8)]
    assert DEVELOPMENT_PROMPT_DAYS == 28
    # Asked on 22 March; not on 19 April (asked 28 days before, but a check 9 days before); again on 10 May.
    assert asked == [True, False, False, False, False, False, False, True]


def test_the_question_is_kept_with_the_email_so_a_retry_asks_it_again(app, client, api):
    from tests.test_reminders import Controller, Sink, free_port

    _, child_id = child_on_schedule(api, client, "2026-01-11")
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_TIMEOUT_SECONDS=2)
    with time_machine.travel(sunday_evening(0), tick=False):
        assert run_dispatch(app).retrying == 1
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with time_machine.travel(sunday_evening(0) + timedelta(minutes=2), tick=False):
            assert run_dispatch(app).sent == 1
    finally:
        controller.stop()
    (_, message), = sink.messages
    assert f"Has Mila {LOST_SKILLS}" in bodies(message)[0]
    assert [r.development_prompt for r in reminders(app)] == [True]


def test_past_a_year_of_corrected_age_nobody_is_asked_and_a_preterm_child_counts_from_term(app, client, api,
                                                                                          smtp):  # noqa: F811
    # Both born 59 weeks before 22 March; born at 26 weeks, the second is 45 weeks old corrected.
    term, _ = child_on_schedule(api, client, "2025-02-02", gestational_weeks=39.5)
    preterm, _ = child_on_schedule(api, client, "2025-02-02", gestational_weeks=26.0)
    with time_machine.travel(sunday_evening(0), tick=False):
        assert run_dispatch(app).sent == 2
    asked = {rcpt[0]: f"Has Mila {LOST_SKILLS}" in bodies(message)[0] for rcpt, message in smtp.messages}
    assert asked == {term.email: False, preterm.email: True}


def test_the_preview_asks_as_the_next_slot_will_until_a_check_is_logged(client, api):
    owner = api.register()
    child_id = api.create_child(owner, birth_date=days_ago(70))["id"]  # 10 weeks old, no check yet
    schedule(client, owner, child_id)
    url = f"/api/v1/children/{child_id}/reminders/preview"
    assert f"Has Mila {LOST_SKILLS}" in client.get(url, headers=owner.headers).json["text"]
    log_check(client, owner, child_id, days_ago(0))
    assert f"Has Mila {LOST_SKILLS}" not in client.get(url, headers=owner.headers).json["text"]
