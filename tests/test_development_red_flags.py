"""Development red flags over HTTP (issue 20 item 2, ../shared/CLINICAL.md "Red flags" 3 and "Video, treatments
and development"): lost skills suggest a review (`lost_skills`); lost or stalled skills together with 3 or more
episodes on waking within 28 days of that check is the infantile-spasms pattern (`spasms_pattern`)."""
from datetime import date, timedelta

from tests.dashboard_helpers import Browser
from tests.helpers import episode_body
from tests.sync_helpers import changes
from tests.test_development_checks import raw_check
from tests.test_treatments import v2_phone


def day(days_ago: int) -> str:
    return (date.today() - timedelta(days=days_ago)).isoformat()


def check(client, family, checked_on: str, new_skills: str = "yes", lost_skills: str = "no") -> dict:
    response = client.post(f"/api/v1/children/{family['child']['id']}/development-checks", headers=family[
        "owner"].headers, json={"checked_on": checked_on, "new_skills": new_skills, "lost_skills": lost_skills,
                                "concerns": []})
    assert response.status_code == 201, response.json
    return response.json


def episodes(client, family, *days_ago: int, sleep_state: str = "waking") -> list[str]:
    ids = []
    for ago in days_ago:
        response = client.post(f"/api/v1/children/{family['child']['id']}/episodes", headers=family["owner"].headers,
                               json=episode_body(sleep_state=sleep_state, started_at=f"{day(ago)}T05:30:00+01:00"))
        assert response.status_code == 201, response.json
        ids.append(response.json["id"])
    return ids


def flags(client, family, account: str = "clinician") -> dict:
    body = client.get(f"/api/v1/children/{family['child']['id']}/trends", headers=family[account].headers).json
    return {flag["code"]: flag for flag in body["red_flags"]}


def listed_flags(client, family) -> list[str]:
    items = client.get("/api/v1/children", headers=family["clinician"].headers).json["items"]
    return {child["id"]: child for child in items}[family["child"]["id"]]["summary"]["red_flags"]


def test_lost_skills_suggest_a_review_with_the_check_as_evidence_since_its_date(client, family):
    check(client, family, day(20))
    lost = check(client, family, day(10), lost_skills="yes")
    found = flags(client, family)
    assert set(found) == {"lost_skills"}
    assert found["lost_skills"]["evidence"] == found["lost_skills"]["checks"] == [lost["id"]]
    assert found["lost_skills"]["since"].startswith(day(10))
    assert "lost" in found["lost_skills"]["message"].lower()
    assert "diagnos" not in found["lost_skills"]["message"].lower()


def test_lost_skills_with_three_waking_episodes_is_the_spasms_pattern_with_the_most_urgent_words(client, family):
    lost = check(client, family, day(10), lost_skills="yes")
    waking = episodes(client, family, 30, 12, 3)  # 20 days before the check, 2 before, 7 after
    episodes(client, family, 4, 5, sleep_state="asleep")  # asleep: not on waking
    body = client.get(f"/api/v1/children/{family['child']['id']}/trends", headers=family["owner"].headers).json
    found = {flag["code"]: flag for flag in body["red_flags"]}
    assert [flag["code"] for flag in body["red_flags"]] == ["spasms_pattern", "lost_skills"]  # the most urgent first
    pattern = found["spasms_pattern"]
    assert pattern["evidence"] == [lost["id"], *waking]
    assert pattern["checks"] == [lost["id"]]  # which of the evidence are checks, for clients that link them
    assert pattern["since"].startswith(day(10))
    assert "please contact your doctor soon" in pattern["message"].lower()
    assert "spasms" not in pattern["message"].lower() and "not a diagnosis" in pattern["message"].lower()
    assert body["summary"]["caregiver"].lower().startswith("please contact your doctor soon")
    assert "spasms_pattern (1 development check, 3 episodes)" in body["summary"]["clinician"]
    assert "lost_skills (1 development check)" in body["summary"]["clinician"]


def test_no_new_skills_on_two_checks_four_weeks_apart_with_waking_clusters_is_the_spasms_pattern(client, family):
    first = check(client, family, day(40), new_skills="no")
    check(client, family, day(30), new_skills="unsure")
    second = check(client, family, day(12), new_skills="no")
    waking = episodes(client, family, 35, 20, 2)
    found = flags(client, family)
    assert set(found) == {"spasms_pattern"}
    assert found["spasms_pattern"]["evidence"] == [first["id"], second["id"], *waking]
    assert found["spasms_pattern"]["since"].startswith(day(12))


def test_a_later_yes_for_new_skills_clears_the_stalled_path(client, family):
    check(client, family, day(40), new_skills="no")
    check(client, family, day(12), new_skills="no")
    episodes(client, family, 20, 15, 10)
    assert "spasms_pattern" in flags(client, family)
    later = check(client, family, day(2), new_skills="yes")
    assert flags(client, family) == {}
    assert listed_flags(client, family) == []
    client.delete(f"/api/v1/development-checks/{later['id']}", headers=family["owner"].headers)
    assert listed_flags(client, family) == ["spasms_pattern"]


def test_two_no_new_skills_checks_less_than_four_weeks_apart_are_not_a_stall(client, family):
    check(client, family, day(30), new_skills="no")
    check(client, family, day(4), new_skills="no")  # 26 days apart
    episodes(client, family, 20, 15, 10)
    assert flags(client, family) == {}


def test_two_waking_episodes_are_not_the_spasms_pattern(client, family):
    check(client, family, day(10), lost_skills="yes")
    episodes(client, family, 9, 8)
    episodes(client, family, 7, sleep_state="awake")  # awake is its own flag, not on waking
    assert "spasms_pattern" not in flags(client, family)


def test_waking_episodes_more_than_28_days_from_the_check_do_not_count(client, family):
    check(client, family, day(40), new_skills="no")
    check(client, family, day(5), lost_skills="yes", new_skills="no")
    episodes(client, family, 55, 50)  # before the first "no": more than 28 days before the lost skills
    episodes(client, family, 34)  # 29 days before the lost skills, 6 days after the first "no" (not a stall end)
    assert set(flags(client, family)) == {"lost_skills"}


def test_the_flags_reach_the_summaries_and_the_patient_list_sorts_them_first(app, client, api, family):
    owner, clinician = family["owner"], family["clinician"]
    quiet = api.create_child(owner, name="Aaron")  # sorts before Mila by name without flags
    api.join(owner, quiet["id"], clinician)
    assert listed_flags(client, family) == []
    check(client, family, day(10), lost_skills="yes")
    assert listed_flags(client, family) == ["lost_skills"]
    episodes(client, family, 9, 8, 7)
    assert listed_flags(client, family) == ["spasms_pattern", "lost_skills"]
    browser = Browser(app.test_client())
    assert browser.sign_in(clinician.email).status_code == 302
    page = browser.page("/dashboard/")
    assert page.index(">Mila</a>") < page.index(">Aaron</a>")
    assert ">Aaron</a>" not in browser.page("/dashboard/", filter="red_flags")


def test_a_synced_development_check_marks_the_summary_stale(client, family):
    episodes(client, family, 9, 8, 7)
    assert listed_flags(client, family) == []
    phone = v2_phone(client, family["owner"], "mumphone1")
    pushed = phone.push(changes(schema_version=2, development_checks={"created": [
        raw_check("dc1", family["child"]["id"], checked_on=day(10), lost_skills="yes")]}))
    assert pushed.status_code == 200, pushed.json
    assert listed_flags(client, family) == ["spasms_pattern", "lost_skills"]
    assert phone.push(changes(schema_version=2, development_checks={"deleted": ["dc1"]})).status_code == 200
    assert listed_flags(client, family) == []
