"""`flask seed-demo`: demo accounts and children, created once however often it runs."""
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
    conditions = {child["name"]: child["condition"] for child in listed}
    assert conditions == {"Mila": "bnsm", "Noah": "benign_myoclonus_of_infancy"}
