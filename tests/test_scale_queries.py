"""What a background pass reads grows with its work, not with the number of families (issue 23, the cost curve:
bench/scale_bench.py)."""
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.reminders import events
from backend.reminders.models import ReminderSchedule
from backend.trends.models import ChildSummary
from tests.helpers import episode_body
from tests.test_reminders import run_dispatch, schedule


def test_a_dispatch_pass_reads_only_the_schedules_with_news(app, client, api, smtp, monkeypatch):
    """The events' check looks at the schedules whose emails know another verdict or other flags than the summary,
    not at every enabled schedule on every pass."""
    owner = api.register()
    children = [api.create_child(owner, name=f"Child {n}")["id"] for n in range(3)]
    for child_id in children:
        assert schedule(client, owner, child_id, recipients=[owner.id]).status_code == 200
    run_dispatch(app)  # builds the summaries; what the emails know is theirs
    looked_at = []
    monkeypatch.setattr(events, "remember", lambda schedule, summary, seen=events.remember: (
        looked_at.append(schedule.child_id), seen(schedule, summary)))

    assert run_dispatch(app).sent == 0
    assert looked_at == []

    client.post(f"/api/v1/children/{children[1]}/episodes", headers=owner.headers, json=episode_body(
        sleep_state="awake", started_at=f"{date.today() - timedelta(days=1)}T10:00:00+01:00"))
    assert run_dispatch(app).sent == 1  # the red flag's prompt
    assert looked_at == [children[1]]
    assert run_dispatch(app).sent == 0 and looked_at == [children[1]]


def test_two_red_flags_are_news_once(app, client, api, smtp):
    """Flags known as the summary writes them: a child with two flags is not read again on every pass."""
    owner = api.register()
    child_id = api.create_child(owner)["id"]
    schedule(client, owner, child_id, recipients=[owner.id])
    client.post(f"/api/v1/children/{child_id}/episodes", headers=owner.headers, json=episode_body(
        sleep_state="awake", stopped_when_woken="no", started_at=f"{date.today() - timedelta(days=1)}T10:00:00+01:00"))
    assert run_dispatch(app).sent == 1
    with app.app_context():
        known, codes = db.session.execute(select(ReminderSchedule.known_red_flags, ChildSummary.red_flag_codes).join(
            ChildSummary, ChildSummary.child_id == ReminderSchedule.child_id)).one()
    assert known == codes and len(json.loads(codes)) == 2


def test_a_pass_takes_only_the_summaries_rebuilt_since_the_last_one(app, client, api, smtp, monkeypatch):
    """The summaries a pass compares are those rebuilt since a pass last looked (a partial index), not all."""
    owner = api.register()
    children = [api.create_child(owner, name=f"Child {n}")["id"] for n in range(3)]
    for child_id in children:
        schedule(client, owner, child_id, recipients=[owner.id])
    run_dispatch(app)
    taken = []
    monkeypatch.setattr(events, "_take_unchecked", lambda limit, take=events._take_unchecked: (
        ids := take(limit), taken.extend(ids))[0])

    run_dispatch(app)
    assert taken == []
    client.post(f"/api/v1/children/{children[2]}/episodes", headers=owner.headers, json=episode_body())
    run_dispatch(app)
    assert taken == [children[2]]


def test_a_pass_that_fails_leaves_its_summaries_to_the_next(app, client, api, smtp, monkeypatch):
    owner = api.register()
    child_id = api.create_child(owner)["id"]
    schedule(client, owner, child_id, recipients=[owner.id])
    run_dispatch(app)
    client.post(f"/api/v1/children/{child_id}/episodes", headers=owner.headers, json=episode_body(
        sleep_state="awake", started_at=f"{date.today() - timedelta(days=1)}T10:00:00+01:00"))

    def broken(rows):
        raise RuntimeError("the outbox is down")
    monkeypatch.setattr(events, "queue", broken)
    with pytest.raises(RuntimeError):
        run_dispatch(app)
    monkeypatch.undo()
    with app.app_context():
        db.session.rollback()
    assert run_dispatch(app).sent == 1  # the red flag's prompt, not lost with the failed pass


def test_a_child_made_on_a_phone_has_its_summary_row_at_once_and_the_pass_builds_it(app, client, api):
    """The summaries pass reads the stale summaries only (a partial index), never every child looking for a
    missing one: so a child's first write gives it a stale placeholder, which the pass then builds."""
    from backend.trends.freshness import refresh_all_stale
    from tests.sync_helpers import Phone, changes, raw_child

    owner = api.register()
    phone = Phone(client, owner, "phone-1")
    phone.pull()
    assert phone.push(changes(children={"created": [raw_child("phone-child-1")]})).status_code == 200
    with app.app_context():
        placeholder = db.session.get(ChildSummary, "phone-child-1")
        assert (placeholder.stale, placeholder.verdict) == (True, "insufficient_data")
        assert refresh_all_stale(db.session) == 1
        db.session.expire_all()
        assert db.session.get(ChildSummary, "phone-child-1").stale is False
        assert refresh_all_stale(db.session) == 0
