"""The access-control matrix: every endpoint against every kind of caller who must not get in.

One row per route (method and rule) of the app; a route without a row, or a row without a route,
fails `test_every_route_has_a_row`. Callers: anonymous, an expired token, a revoked token, another
family's caregiver, a clinician of another child, a member removed from the team, and the team's
own clinician where only caregivers (or the owner) may write. Each gets the right 401/403/404 (or,
on the dashboard, the sign-in page) and never the child's data.
"""
from dataclasses import dataclass
from datetime import timedelta

import pytest

from backend.db_types import utcnow
from tests.dashboard_helpers import Browser, csrf_from
from tests.helpers import episode_body, run_sql, sleep_body
from tests.video_helpers import TUS, create, metadata, patch, process, upload

PUBLIC = {  # routes anyone may call: sign-up and sign-in, health, docs, assets, tokens carried in the URL
    ("POST", "/api/v1/users"), ("POST", "/api/v1/tokens"), ("GET", "/healthz"), ("GET", "/readyz"),
    ("GET", "/api/docs"), ("GET", "/api/docs/assets/<path:filename>"), ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/reminders/unsubscribe/<token>"), ("POST", "/api/v1/reminders/unsubscribe/<token>"),
    ("GET", "/dashboard/login"), ("POST", "/dashboard/login"), ("GET", "/dashboard/static/<path:filename>"),
    ("GET", "/static/<path:filename>"), ("POST", "/dashboard/logout"), ("GET", "/"),
    # issue 21: a token in the body or the URL proves whose it is; the code step needs the password step first
    ("POST", "/api/v1/email-verifications"), ("POST", "/api/v1/password-resets"),
    ("POST", "/api/v1/password-resets/<token>"),
    ("GET", "/dashboard/verify-email"), ("POST", "/dashboard/verify-email"),
    ("GET", "/dashboard/forgot-password"), ("POST", "/dashboard/forgot-password"),
    ("GET", "/dashboard/reset-password"), ("POST", "/dashboard/reset-password"),
    ("GET", "/dashboard/login/code"), ("POST", "/dashboard/login/code"),
    ("POST", "/dashboard/language"),  # the switcher: the session's language signed out, the account's signed in
    ("GET", "/metrics"),  # issue 24: loopback callers or METRICS_TOKEN's bearer, no account (tests/test_metrics.py)
}


@dataclass(frozen=True)
class Row:
    method: str
    rule: str
    scope: str  # "user": the caller's own things; "child": one child's; "owner"; "writer"; "clinician";
    # "uploader": an upload in progress, its uploader's alone
    body: str | None = None  # which request body to send

    @property
    def dashboard(self) -> bool:
        return self.rule.startswith("/dashboard")


C = "/api/v1/children/<child_id>"
TREATMENT = {"name": "Phenobarbital", "kind": "antiseizure_medication", "started_on": "2026-11-01"}
DEVELOPMENT_CHECK = {"checked_on": "2026-11-29", "new_skills": "yes", "lost_skills": "no"}
ROWS = [
    Row("GET", "/api/v1/me", "user"),
    Row("GET", "/api/v1/children", "user"), Row("POST", "/api/v1/children", "user", "child"),
    Row("GET", "/api/v1/sync", "user"), Row("POST", "/api/v1/sync", "user", "sync"),
    Row("POST", "/api/v1/invites/<code>/accept", "user"),
    Row("GET", C, "child"), Row("PATCH", C, "writer", "patch_child"), Row("DELETE", C, "owner"),
    Row("GET", f"{C}/access-log", "owner"),
    Row("GET", f"{C}/episodes", "child"), Row("POST", f"{C}/episodes", "writer", "episode"),
    Row("GET", f"{C}/sleep-sessions", "child"), Row("POST", f"{C}/sleep-sessions", "writer", "sleep"),
    Row("GET", f"{C}/export.csv", "child"), Row("GET", f"{C}/export/fhir", "child"),
    Row("GET", f"{C}/report.pdf", "child"), Row("GET", f"{C}/trends", "child"),
    Row("GET", f"{C}/trends/chart.png", "child"), Row("GET", f"{C}/trends/chart.svg", "child"),
    Row("POST", f"{C}/invites", "owner", "invite"), Row("GET", f"{C}/members", "child"),
    Row("DELETE", f"{C}/members/<user_id>", "owner"),
    Row("GET", f"{C}/notes", "child"), Row("POST", f"{C}/notes", "clinician", "note"),
    Row("PUT", f"{C}/notes/<note_id>", "clinician", "note"),
    Row("GET", f"{C}/reminder-schedule", "child"), Row("PUT", f"{C}/reminder-schedule", "writer", "schedule"),
    Row("POST", f"{C}/reminder-schedule/opt-out", "child"), Row("DELETE", f"{C}/reminder-schedule/opt-out", "child"),
    Row("GET", f"{C}/reminders", "child"), Row("GET", f"{C}/reminders/preview", "child"),
    Row("GET", "/api/v1/episodes/<episode_id>", "child"), Row("PUT", "/api/v1/episodes/<episode_id>", "writer",
                                                                "episode"),
    Row("PATCH", "/api/v1/episodes/<episode_id>", "writer", "patch_entry"),
    Row("DELETE", "/api/v1/episodes/<episode_id>", "writer"),
    Row("GET", "/api/v1/sleep-sessions/<sleep_session_id>", "child"),
    Row("PUT", "/api/v1/sleep-sessions/<sleep_session_id>", "writer", "sleep"),
    Row("PATCH", "/api/v1/sleep-sessions/<sleep_session_id>", "writer", "patch_entry"),
    Row("DELETE", "/api/v1/sleep-sessions/<sleep_session_id>", "writer"),
    Row("GET", f"{C}/treatments", "child"), Row("POST", f"{C}/treatments", "writer", "treatment"),
    Row("GET", "/api/v1/treatments/<treatment_id>", "child"),
    Row("PUT", "/api/v1/treatments/<treatment_id>", "writer", "treatment"),
    Row("PATCH", "/api/v1/treatments/<treatment_id>", "writer", "patch_entry"),
    Row("DELETE", "/api/v1/treatments/<treatment_id>", "writer"),
    Row("GET", f"{C}/development-checks", "child"),
    Row("POST", f"{C}/development-checks", "writer", "development_check"),
    Row("GET", "/api/v1/development-checks/<development_check_id>", "child"),
    Row("PUT", "/api/v1/development-checks/<development_check_id>", "writer", "development_check"),
    Row("PATCH", "/api/v1/development-checks/<development_check_id>", "writer", "patch_entry"),
    Row("DELETE", "/api/v1/development-checks/<development_check_id>", "writer"),
    Row("GET", "/dashboard/", "user"), Row("GET", "/dashboard/children/<child_id>", "child"),
    Row("GET", "/dashboard/children/<child_id>/chart.svg", "child"),
    Row("GET", "/dashboard/children/<child_id>/export/<kind>", "child"),
    Row("POST", "/dashboard/children/<child_id>/notes", "clinician", "form_note"),
    Row("POST", "/dashboard/children/<child_id>/notes/<note_id>", "clinician", "form_note"),
    Row("POST", "/api/v1/uploads", "writer"), Row("PATCH", "/api/v1/uploads/<video_id>", "uploader"),
    Row("DELETE", "/api/v1/uploads/<video_id>", "uploader"),
    Row("GET", "/api/v1/episodes/<episode_id>/videos", "child"), Row("GET", "/api/v1/videos/<video_id>", "child"),
    Row("GET", "/api/v1/videos/<video_id>/content", "child"),
    Row("GET", "/api/v1/videos/<video_id>/poster.jpg", "child"),
    Row("GET", "/dashboard/videos/<video_id>/content", "child"),
    Row("GET", "/dashboard/videos/<video_id>/poster.jpg", "child"),
    Row("DELETE", "/api/v1/videos/<video_id>", "writer"),
    Row("GET", "/api/v1/me/export", "user"),
    Row("DELETE", "/api/v1/me", "user"),  # no body: 422 for whoever gets that far, nothing deleted
    # issue 21: the caller's own account only (no body: 422 or 409 for whoever gets that far, nothing changed)
    Row("PATCH", "/api/v1/me", "user"), Row("POST", "/api/v1/me/email-verification", "user"),
    Row("PUT", "/api/v1/me/password", "user"), Row("POST", "/api/v1/me/totp", "user"),
    Row("POST", "/api/v1/me/totp/confirm", "user"), Row("DELETE", "/api/v1/me/totp", "user"),
    Row("GET", "/api/v1/me/tokens", "user"), Row("DELETE", "/api/v1/me/tokens/<token_id>", "user"),
    Row("GET", "/dashboard/account", "user"), Row("POST", "/dashboard/account/totp", "user"),
    Row("POST", "/dashboard/account/totp/confirm", "user"), Row("POST", "/dashboard/account/totp/off", "user"),
    Row("POST", "/dashboard/account/devices/<token_id>/sign-out", "user"),
    Row("DELETE", "/api/v1/tokens", "user"),  # last: it signs the caller out
]
CALLERS = ("anonymous", "expired", "revoked", "stranger", "other_clinician", "removed_member", "own_clinician",
           "second_caregiver")


def test_every_route_has_a_row(app):
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    rows = {(row.method, row.rule) for row in ROWS}
    assert routes - PUBLIC - rows == set(), "new endpoints need a row in the access matrix"
    assert rows - routes == set(), "rows for endpoints that no longer exist"


@pytest.fixture
def world(app, api, client):
    """Family A (owner, second caregiver, clinician, a removed member, an episode, a night, a note),
    family B (a caregiver and a clinician), and tokens that expired or were revoked."""
    owner, second, clinician, removed = (api.register("caregiver"), api.register("caregiver"),
                                         api.register("clinician"), api.register("caregiver"))
    child = api.create_child(owner, name="Zelda Secret")
    for member in (second, clinician, removed):
        api.join(owner, child["id"], member)
    assert client.delete(f"/api/v1/children/{child['id']}/members/{removed.id}",
                         headers=owner.headers).status_code == 204
    episode = client.post(f"/api/v1/children/{child['id']}/episodes", json=episode_body(),
                          headers=owner.headers).json
    night = client.post(f"/api/v1/children/{child['id']}/sleep-sessions", json=sleep_body(),
                        headers=owner.headers).json
    note = client.post(f"/api/v1/children/{child['id']}/notes", json={"text": "seen"},
                       headers=clinician.headers).json
    treatment = client.post(f"/api/v1/children/{child['id']}/treatments", json=TREATMENT,
                            headers=owner.headers).json
    check = client.post(f"/api/v1/children/{child['id']}/development-checks", json=DEVELOPMENT_CHECK,
                        headers=owner.headers).json
    upload(client, owner, episode["id"], b"not a video, rejected when processed", "secret-clip")
    process(app)
    assert create(client, owner, episode["id"], 1000, "secret-upload").status_code == 201
    assert patch(client, owner, "secret-upload", 0, b"x" * 10).status_code == 204
    stranger, other_clinician = api.register("caregiver"), api.register("clinician")
    other_child = api.create_child(stranger, name="Other")
    api.join(stranger, other_child["id"], other_clinician)
    expired, revoked = api.register("caregiver"), api.register("caregiver")
    api.join(owner, child["id"], expired)
    api.join(owner, child["id"], revoked)
    assert client.delete("/api/v1/tokens", headers=revoked.headers).status_code == 204
    run_sql(app, "UPDATE tokens SET expires_at = :past WHERE user_id = :user", past=utcnow() - timedelta(hours=1),
            user=expired.id)
    return {"child": child, "episode": episode, "night": night, "note": note, "treatment": treatment,
            "check": check, "owner": owner,
            "second_caregiver": second, "own_clinician": clinician, "removed_member": removed,
            "stranger": stranger, "other_clinician": other_clinician, "expired": expired, "revoked": revoked}


def expected(row: Row, caller: str) -> int | None:
    """The status this caller must get, or None where the row does not bar them."""
    if caller in ("anonymous", "expired", "revoked"):
        return 302 if row.dashboard else 401
    if row.scope == "uploader":
        return 404
    if row.scope == "user":
        return 404 if row.rule.endswith("/accept") else None  # their own things: checked for leaks only
    if caller in ("stranger", "other_clinician", "removed_member"):
        return 404
    if caller == "own_clinician" and row.scope in ("writer", "owner"):
        return 403
    if caller == "second_caregiver" and row.scope in ("owner", "clinician"):
        return 403
    return None


def url(row: Row, world: dict) -> str:
    values = {"<child_id>": world["child"]["id"], "<episode_id>": world["episode"]["id"],
              "<sleep_session_id>": world["night"]["id"], "<note_id>": world["note"]["id"],
              "<treatment_id>": world["treatment"]["id"], "<development_check_id>": world["check"]["id"],
              "<user_id>": world["expired"].id, "<code>": "not-a-real-code", "<kind>": "csv",
              "<token_id>": "not-a-token-id",
              "<video_id>": "secret-upload" if "/uploads/" in row.rule else "secret-clip"}
    path = row.rule
    for placeholder, value in values.items():
        path = path.replace(placeholder, value)
    return path


def body(row: Row, world: dict):
    child_id = world["child"]["id"]
    return {
        None: None, "child": {"name": "New", "birth_date": "2026-10-01", "timezone": "Europe/Berlin",
                              "condition": "bnsm"},
        "sync": {"children": {"created": [], "updated": [], "deleted": []},
                 "episodes": {"created": [], "updated": [], "deleted": []},
                 "sleep_sessions": {"created": [], "updated": [], "deleted": []}},
        "patch_child": {"name": "Renamed"}, "episode": episode_body(child_id=child_id),
        "sleep": sleep_body(child_id=child_id), "invite": {"role": "caregiver"}, "note": {"text": "a note"},
        "schedule": {"cadence": "weekly", "weekday": "sunday", "local_time": "19:00", "enabled": True},
        "patch_entry": {"notes": "changed"}, "treatment": {**TREATMENT, "child_id": child_id},
        "development_check": {**DEVELOPMENT_CHECK, "child_id": child_id},
    }.get(row.body)


def call(app, client, row: Row, caller: str, world: dict):
    account = None if caller == "anonymous" else world[caller]
    if row.dashboard:
        return call_dashboard(app, row, account, world)
    headers = {} if account is None else dict(account.headers)
    if "/uploads" in row.rule:
        headers.update(TUS, **{"Upload-Length": "100", "Upload-Offset": "0",
                               "Content-Type": "application/offset+octet-stream",
                               "Upload-Metadata": metadata(id="new-clip", episode_id=world["episode"]["id"])})
        return client.open(url(row, world), method=row.method, data=b"x" if row.method == "PATCH" else None,
                           headers=headers)
    query = {"last_pulled_at": "null", "schema_version": 1, "migration": "null"} if row.rule.endswith("sync") \
        and row.method == "GET" else ({"last_pulled_at": 0} if row.rule.endswith("sync") else None)
    return client.open(url(row, world), method=row.method, json=body(row, world), headers=headers,
                       query_string=query)


def call_dashboard(app, row: Row, account, world: dict):
    browser = Browser(app.test_client())
    if account is not None:
        browser.sign_in(account.email)
    if account is not None and account in (world["expired"], world["revoked"]):
        what = "expires_at = :now" if account is world["expired"] else "revoked_at = :now"
        run_sql(app, f"UPDATE tokens SET {what} WHERE user_id = :user", now=utcnow(), user=account.id)
    if row.method == "GET":
        return browser.client.get(url(row, world))
    token = csrf_from(browser.client.get("/dashboard/login").get_data(as_text=True))
    return browser.client.post(url(row, world), data={"csrf_token": token, "text": "a note"})


@pytest.mark.parametrize("caller", CALLERS)
def test_no_caller_gets_what_is_not_theirs(app, client, world, caller):
    secret_name, child_id = "Zelda Secret", world["child"]["id"]
    checked = 0
    for row in ROWS:
        want = expected(row, caller)
        response = call(app, client, row, caller, world)
        text = response.get_data().decode("utf-8", errors="replace")
        where = f"{row.method} {row.rule} as {caller}"
        if want is not None:
            assert response.status_code == want, f"{where}: {response.status_code} {text[:300]}"
            if want == 302:
                assert "/dashboard/login" in response.headers["Location"], where
            checked += 1
        if caller in ("anonymous", "expired", "revoked", "stranger", "other_clinician", "removed_member"):
            assert secret_name not in text and (child_id not in text or row.method != "GET"
                                                or want is not None), where
    assert checked >= (len(ROWS) if caller in ("anonymous", "expired", "revoked") else 5)
