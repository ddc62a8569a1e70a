"""Care teams: single-use invite codes, members, revoking, and what each role may do."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.helpers import assert_error


def members_of(client, child_id, account):
    response = client.get(f"/api/v1/children/{child_id}/members", headers=account.headers)
    assert response.status_code == 200
    return {m["user_id"]: m for m in response.json["items"]}


def accept(client, code, account):
    return client.post(f"/api/v1/invites/{code}/accept", headers=account.headers)


def test_an_invite_code_adds_the_invitee_who_then_sees_the_child(client, api):
    owner, partner = api.register(), api.register()
    child = api.create_child(owner)
    response = client.post(f"/api/v1/children/{child['id']}/invites", json={"role": "caregiver"},
                           headers=owner.headers)
    assert response.status_code == 201
    invite = response.json
    assert invite["role"] == "caregiver"
    expires = datetime.fromisoformat(invite["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < expires <= timedelta(days=7)
    accepted = accept(client, invite["code"], partner)
    assert accepted.status_code == 200 and accepted.json["id"] == child["id"]
    listed = client.get("/api/v1/children", headers=partner.headers).json["items"]
    assert [c["id"] for c in listed] == [child["id"]]
    member = members_of(client, child["id"], owner)[partner.id]
    assert member["role"] == "caregiver" and member["email"] == partner.email and member["name"]


def test_codes_are_forgiving_about_case_and_dashes(client, api):
    owner, partner = api.register(), api.register()
    child = api.create_child(owner)
    code = api.invite(owner, child["id"], "caregiver")
    assert accept(client, code.replace("-", "").lower(), partner).status_code == 200


def test_a_code_works_once(client, api):
    owner, first, second = api.register(), api.register(), api.register()
    code = api.invite(owner, api.create_child(owner)["id"], "caregiver")
    assert accept(client, code, first).status_code == 200
    assert_error(accept(client, code, second), 410)


def test_a_code_expires_after_seven_days(client, api):
    owner, partner = api.register(), api.register()
    code = api.invite(owner, api.create_child(owner)["id"], "caregiver")
    with time_machine.travel(datetime.now(UTC) + timedelta(days=7, minutes=1)):
        fresh_token = api.sign_in(partner.email)
        response = client.post(f"/api/v1/invites/{code}/accept",
                               headers={"Authorization": f"Bearer {fresh_token}"})
    assert_error(response, 410)


def test_an_unknown_code_is_404(client, api):
    assert_error(accept(client, "AAAA-BBBB-CCCC-DDDD", api.register()), 404)


def test_an_invite_is_for_the_role_it_names(client, api):
    owner, caregiver = api.register(), api.register()
    code = api.invite(owner, api.create_child(owner)["id"], "clinician")
    assert_error(accept(client, code, caregiver), 403)


def test_a_member_cannot_join_twice(client, family, api):
    code = api.invite(family["owner"], family["child"]["id"], "caregiver")
    assert_error(accept(client, code, family["caregiver"]), 409)


@pytest.mark.parametrize("role", ["owner", "admin", None])
def test_invites_name_a_valid_role(client, api, role):
    owner = api.register()
    child = api.create_child(owner)
    response = client.post(f"/api/v1/children/{child['id']}/invites", json={"role": role},
                           headers=owner.headers)
    assert_error(response, 422, field="role")


@pytest.mark.parametrize("member", ["caregiver", "clinician"])
def test_only_the_owner_invites(client, family, member):
    response = client.post(f"/api/v1/children/{family['child']['id']}/invites",
                           json={"role": "caregiver"}, headers=family[member].headers)
    assert_error(response, 403)


def test_strangers_neither_invite_nor_see_the_team(client, family, api):
    stranger, child_id = api.register(), family["child"]["id"]
    assert_error(client.post(f"/api/v1/children/{child_id}/invites", json={"role": "caregiver"},
                             headers=stranger.headers), 404)
    assert_error(client.get(f"/api/v1/children/{child_id}/members", headers=stranger.headers), 404)


def test_every_member_sees_the_whole_team(client, family):
    child_id = family["child"]["id"]
    expected = {family[k].id: role for k, role in
                (("owner", "owner"), ("caregiver", "caregiver"), ("clinician", "clinician"))}
    for member in ("owner", "caregiver", "clinician"):
        team = members_of(client, child_id, family[member])
        assert {user_id: m["role"] for user_id, m in team.items()} == expected


def test_a_revoked_member_loses_access_at_once(client, family):
    child_id, clinician = family["child"]["id"], family["clinician"]
    response = client.delete(f"/api/v1/children/{child_id}/members/{clinician.id}",
                             headers=family["owner"].headers)
    assert response.status_code == 204
    assert_error(client.get(f"/api/v1/children/{child_id}", headers=clinician.headers), 404)
    assert client.get("/api/v1/children", headers=clinician.headers).json["items"] == []
    assert clinician.id not in members_of(client, child_id, family["owner"])


def test_a_revoked_member_can_be_invited_back(client, family, api):
    child_id, caregiver, owner = family["child"]["id"], family["caregiver"], family["owner"]
    client.delete(f"/api/v1/children/{child_id}/members/{caregiver.id}", headers=owner.headers)
    api.join(owner, child_id, caregiver)
    assert client.get(f"/api/v1/children/{child_id}", headers=caregiver.headers).status_code == 200


def test_the_owner_cannot_be_removed(client, family):
    child_id, owner = family["child"]["id"], family["owner"]
    assert_error(client.delete(f"/api/v1/children/{child_id}/members/{owner.id}",
                               headers=owner.headers), 409)


def test_members_other_than_the_owner_cannot_remove_others(client, family):
    child_id = family["child"]["id"]
    response = client.delete(f"/api/v1/children/{child_id}/members/{family['clinician'].id}",
                             headers=family["caregiver"].headers)
    assert_error(response, 403)


def test_a_member_may_leave(client, family):
    child_id, clinician = family["child"]["id"], family["clinician"]
    assert client.delete(f"/api/v1/children/{child_id}/members/{clinician.id}",
                         headers=clinician.headers).status_code == 204
    assert_error(client.get(f"/api/v1/children/{child_id}", headers=clinician.headers), 404)


def test_removing_someone_not_in_the_team_is_404(client, family, api):
    outsider = api.register()
    assert_error(client.delete(f"/api/v1/children/{family['child']['id']}/members/{outsider.id}",
                               headers=family["owner"].headers), 404)


def test_invites_of_a_deleted_child_stop_working(client, api):
    owner, partner = api.register(), api.register()
    child = api.create_child(owner)
    code = api.invite(owner, child["id"], "caregiver")
    client.delete(f"/api/v1/children/{child['id']}", headers=owner.headers)
    assert_error(accept(client, code, partner), 404)
