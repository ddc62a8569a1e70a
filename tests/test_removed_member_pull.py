"""A member removed from a care team learns, through the pull, nothing of what was logged after the removal.

Its phone still gets the child and the records it may hold in `deleted`, so that it drops them: the
records that existed at its last pull, and those it made itself. Security review, issue 17, finding 3.
"""
import pytest

from tests.sync_helpers import Phone, changes, ids, raw_child, raw_episode, raw_sleep

TABLES = ("children", "episodes", "sleep_sessions")


@pytest.fixture
def phones(client, family):
    """The owner's and the second caregiver's phones, both synced once."""
    mum, dad = Phone(client, family["owner"], "mumphone1"), Phone(client, family["caregiver"], "dadphone1")
    mum.pull(), dad.pull()
    return mum, dad


def remove(client, family, member) -> None:
    response = client.delete(f"/api/v1/children/{family['child']['id']}/members/{member.id}",
                             headers=family["owner"].headers)
    assert response.status_code == 204


def log(phone, child_id: str, *suffixes: str) -> None:
    """An episode and a sleep session per suffix, pushed from the phone."""
    body = changes(episodes={"created": [raw_episode(f"ep-{s}", child_id) for s in suffixes]},
                   sleep_sessions={"created": [raw_sleep(f"sl-{s}", child_id) for s in suffixes]})
    assert phone.push(body).status_code == 200


def every_id(pulled: dict) -> set:
    return {record_id for table in TABLES for kind in ("created", "updated", "deleted")
            for record_id in ids(pulled[table], kind)}


def test_an_old_pull_of_a_removed_member_lists_only_what_its_phone_may_hold(client, family, phones):
    mum, dad = phones
    child_id = family["child"]["id"]
    log(mum, child_id, "held")
    held_since = dad.last_pulled_at
    dad.pull()
    last_pulled_at = dad.last_pulled_at
    log(mum, child_id, "unseen")  # after dad's last pull: his phone never had it
    log(dad, child_id, "own")  # pushed from dad's phone after its last pull: it holds it
    remove(client, family, family["caregiver"])
    log(mum, child_id, "after")

    pulled = dad.pull(last_pulled_at)
    assert pulled["children"]["deleted"] == [child_id]
    assert set(pulled["episodes"]["deleted"]) == {"ep-held", "ep-own"}
    assert set(pulled["sleep_sessions"]["deleted"]) == {"sl-held", "sl-own"}
    assert every_id(pulled) == {child_id, "ep-held", "ep-own", "sl-held", "sl-own"}
    older = dad.pull(held_since)  # a phone that last pulled before "held" was logged
    assert every_id(older) == {child_id, "ep-own", "sl-own"}


def test_a_member_who_never_synced_learns_nothing_logged_after_the_removal_whatever_timestamp_it_guesses(
        client, api, family, phones):
    mum, _ = phones
    child_id = family["child"]["id"]
    log(mum, child_id, "before")
    mum.pull()
    first = mum.last_pulled_at
    nosy = api.register()
    api.join(family["owner"], child_id, nosy)
    log(mum, child_id, "member")
    remove(client, family, nosy)
    mum.pull()
    removed_by = mum.last_pulled_at
    log(mum, child_id, "after1", "after2")
    mum.pull()
    now = mum.last_pulled_at

    for device_id in ("nosyphone", mum.device_id):  # a device id seen in a family export while a member
        phone = Phone(client, nosy, device_id)
        for guess in range(first - 3, now + 2):
            learned = every_id(phone.pull(guess))
            assert not learned & {"ep-after1", "ep-after2", "sl-after1", "sl-after2"}, (device_id, guess)
            if guess >= removed_by:
                assert not learned, (device_id, guess)


def test_a_pull_after_the_removal_returns_nothing_of_the_child_even_from_the_phone_that_made_it(
        client, family):
    owner, dad = family["owner"], family["caregiver"]
    mum = Phone(client, owner, "mumphone1")
    mum.pull()
    assert mum.push(changes(children={"created": [raw_child("phonekid1")]})).status_code == 200
    mum.pull()
    child = {**family, "child": {"id": "phonekid1"}}
    code = client.post("/api/v1/children/phonekid1/invites", json={"role": "caregiver"}, headers=owner.headers)
    assert client.post(f"/api/v1/invites/{code.json['code']}/accept", headers=dad.headers).status_code == 200
    log(mum, "phonekid1", "before")
    export = client.get("/api/v1/me/export", headers=dad.headers).json
    (exported,) = [c for c in export["children"] if c["id"] == "phonekid1"]
    mums_device = exported["sync"]["created_by_device"]
    assert mums_device == mum.device_id

    dads_phone = Phone(client, dad, "dadphone1")
    dads_phone.pull()
    remove(client, child, dad)
    assert every_id(dads_phone.pull()) == {"phonekid1", "ep-before", "sl-before"}
    after_removal = dads_phone.last_pulled_at
    log(mum, "phonekid1", "after")
    for device_id in ("dadphone1", mums_device):
        pulled = Phone(client, dad, device_id).pull(after_removal)
        assert every_id(pulled) == set(), device_id
