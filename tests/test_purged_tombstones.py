"""A purged child's tombstones tell a phone only the ids it may hold, as the pull did before the purge.

A member removed from a care team learns nothing logged after the removal, even once the child is
deleted and purged; a member still in the team when the child was deleted, its phone offline all
that time, still gets every id its phone may hold. Security review, issue 17, finding 3.
"""
import pytest

from tests.helpers import run_sql
from tests.sync_helpers import Phone
from tests.test_privacy import RETENTION_DAYS, purge
from tests.test_removed_member_pull import TABLES, every_id, log, remove

AFTER_REMOVAL = {"ep-after1", "ep-after2", "sl-after1", "sl-after2"}


def delete_child(client, family) -> None:
    response = client.delete(f"/api/v1/children/{family['child']['id']}", headers=family["owner"].headers)
    assert response.status_code == 204


def deleted(pulled: dict) -> dict:
    return {table: set(pulled[table]["deleted"]) for table in TABLES}


@pytest.fixture
def team(client, family):
    """Mum (the owner) and dad have synced; mum logs "held", dad's phone pulls, then mum logs "unseen" and dad's
    phone pushes "own" without pulling. Returns the phones and the versions of dad's two pulls."""
    mum, dad = Phone(client, family["owner"], "mumphone1"), Phone(client, family["caregiver"], "dadphone1")
    mum.pull(), dad.pull()
    child_id = family["child"]["id"]
    log(mum, child_id, "held")
    held_since = dad.last_pulled_at
    dad.pull()
    log(mum, child_id, "unseen")
    log(dad, child_id, "own")
    return {"mum": mum, "dad": dad, "held_since": held_since, "last_pulled_at": dad.last_pulled_at}


def assert_dads_phone_told_what_it_may_hold(team, child_id: str, before_purge: dict) -> None:
    """After the purge, dad's pulls list what his phone may hold, the same ids as the same pulls before it."""
    dad = team["dad"]
    pulled = dad.pull(team["last_pulled_at"])
    assert deleted(pulled) == {"children": {child_id}, "episodes": {"ep-held", "ep-own"},
                               "sleep_sessions": {"sl-held", "sl-own"}}
    assert every_id(pulled) == every_id(before_purge[team["last_pulled_at"]])
    older = dad.pull(team["held_since"])  # a phone that last pulled before "held" was logged
    assert every_id(older) == {child_id, "ep-own", "sl-own"} == every_id(before_purge[team["held_since"]])


def test_a_removed_member_learns_nothing_logged_after_the_removal_once_the_child_is_purged(
        app, client, family, team):
    mum, dad, child_id = team["mum"], team["dad"], family["child"]["id"]
    remove(client, family, family["caregiver"])
    log(mum, child_id, "after1", "after2")
    delete_child(client, family)
    before_purge = {last: dad.pull(last) for last in (team["last_pulled_at"], team["held_since"])}
    purge(app, RETENTION_DAYS + 1)

    assert_dads_phone_told_what_it_may_hold(team, child_id, before_purge)


def test_a_removed_member_guessing_timestamps_and_device_ids_learns_nothing_after_the_removal_from_the_purged(
        app, client, family, team):
    mum, child_id = team["mum"], family["child"]["id"]
    remove(client, family, family["caregiver"])
    mum.pull()
    removed_by = mum.last_pulled_at
    log(mum, child_id, "after1", "after2")
    delete_child(client, family)
    mum.pull()
    now = mum.last_pulled_at
    purge(app, RETENTION_DAYS + 1)

    for device_id in ("dadphone1", mum.device_id, "guessed"):  # mum's id is in the family export
        phone = Phone(client, family["caregiver"], device_id)
        for guess in range(team["held_since"] - 3, now + 2):
            learned = every_id(phone.pull(guess))
            assert not learned & AFTER_REMOVAL, (device_id, guess)
            if guess >= removed_by:
                assert not learned, (device_id, guess)


def test_a_member_in_the_team_until_the_purge_still_gets_every_id_its_offline_phone_may_hold(
        app, client, family, team):
    dad, child_id = team["dad"], family["child"]["id"]
    delete_child(client, family)
    before_purge = {last: dad.pull(last) for last in (team["last_pulled_at"], team["held_since"])}
    purge(app, RETENTION_DAYS + 1)

    assert_dads_phone_told_what_it_may_hold(team, child_id, before_purge)
    mums_offline_phone = Phone(client, family["owner"], "mumphone2").pull(team["held_since"])
    assert every_id(mums_offline_phone) == {child_id}, "nothing was logged on it, nothing there at its last pull"
    assert every_id(dad.pull()) == set(), "told once, never again"


def test_a_member_removed_and_added_again_lost_the_child_with_its_deletion(app, api, client, family, team):
    mum, dad, child_id = team["mum"], team["dad"], family["child"]["id"]
    remove(client, family, family["caregiver"])
    log(mum, child_id, "gap")
    api.join(family["owner"], child_id, family["caregiver"])
    dad.pull()
    back_since = dad.last_pulled_at
    log(mum, child_id, "back")
    log(dad, child_id, "own2")
    delete_child(client, family)
    before_purge = dad.pull(back_since)
    purge(app, RETENTION_DAYS + 1)

    pulled = dad.pull(back_since)
    assert deleted(pulled) == {"children": {child_id},
                               "episodes": {"ep-held", "ep-unseen", "ep-own", "ep-gap", "ep-own2"},
                               "sleep_sessions": {"sl-held", "sl-unseen", "sl-own", "sl-gap", "sl-own2"}}
    assert every_id(pulled) == every_id(before_purge)


def test_tombstones_from_before_their_versions_were_kept_are_listed_as_before(app, client, family, team):
    mum, dad, child_id = team["mum"], team["dad"], family["child"]["id"]
    remove(client, family, family["caregiver"])
    log(mum, child_id, "after1")
    delete_child(client, family)
    purge(app, RETENTION_DAYS + 1)
    run_sql(app, "UPDATE purged_entries SET created_version = NULL, created_by_device = NULL WHERE id = 'ep-after1'")

    pulled = dad.pull(team["last_pulled_at"])
    assert set(pulled["episodes"]["deleted"]) == {"ep-held", "ep-own", "ep-after1"}
    assert set(pulled["sleep_sessions"]["deleted"]) == {"sl-held", "sl-own"}
    assert every_id(dad.pull()) == set(), "never to a phone that pulled after the loss"
