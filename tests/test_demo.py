"""`flask seed-demo`: demo accounts and children, created once however often it runs."""
from datetime import date

from backend.demo import DEMO_PASSWORD


def test_seed_demo_is_idempotent_and_its_logins_work(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "parent@example.com" in first.output and DEMO_PASSWORD in first.output
    assert runner.invoke(args=["seed-demo"]).exit_code == 0

    for email, children in (("parent@example.com", 2), ("second.parent@example.com", 2),
                            ("clinician@example.com", 2)):
        token = client.post("/api/v1/tokens", json={"email": email, "password": DEMO_PASSWORD})
        assert token.status_code == 201
        headers = {"Authorization": f"Bearer {token.json['token']}"}
        listed = client.get("/api/v1/children", headers=headers).json["items"]
        assert len(listed) == children
    schedule = client.get("/api/v1/children/demo-child-mila/reminder-schedule", headers=headers).json
    assert schedule["enabled"] is True and schedule["next_due_at"]
    conditions = {child["name"]: child["condition"] for child in listed}
    assert conditions == {"Mila": "bnsm", "Noah": "benign_myoclonus_of_infancy"}
    for child in listed:
        nights = client.get(f"/api/v1/children/{child['id']}/sleep-sessions", headers=headers,
                            query_string={"limit": 500}).json["items"]
        assert 68 <= len(nights) <= 70  # ten weeks, seeded once although the command ran twice
        episodes = client.get(f"/api/v1/children/{child['id']}/episodes", headers=headers,
                              query_string={"limit": 500}).json["items"]
        assert episodes and all(e["logged_by"] for e in episodes)


def test_the_demo_course_of_mila_resolves_and_noahs_does_not(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    token = client.post("/api/v1/tokens", json={"email": "parent@example.com", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {token.json['token']}"}

    def episodes_in_weeks(child_id, first, last):
        items = client.get(f"/api/v1/children/{child_id}/episodes", headers=headers,
                           query_string={"limit": 500}).json["items"]
        days = sorted({e["started_at"][:10] for e in items})
        start = days[0]
        return sum(1 for e in items if first * 7 <= _days_between(start, e["started_at"][:10]) < last * 7)

    assert episodes_in_weeks("demo-child-mila", 0, 2) > 4 * episodes_in_weeks("demo-child-mila", 8, 10)
    noah_early, noah_late = episodes_in_weeks("demo-child-noah", 0, 2), episodes_in_weeks("demo-child-noah", 8, 10)
    assert 0.5 < noah_early / noah_late < 2


def _days_between(first: str, second: str) -> int:
    return (date.fromisoformat(second) - date.fromisoformat(first)).days
