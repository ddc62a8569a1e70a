"""The daily purge also removes account-security rows past any use (issue 21): sent account emails, ended
tokens and expired reset links older than the retention period, and limit counters whose window has passed;
what is live stays."""
from datetime import timedelta

from backend.db_types import utcnow
from tests.helpers import run_sql


def count(app, table: str) -> int:
    return run_sql(app, f"SELECT count(*) FROM {table}").scalar_one()


def test_the_purge_removes_spent_account_rows_and_keeps_live_ones(app, client, api):
    account = api.register()
    ended = api.sign_in(account.email)
    assert client.delete("/api/v1/tokens", headers={"Authorization": f"Bearer {ended}"}).status_code == 204
    assert client.post("/api/v1/password-resets", json={"email": account.email}).status_code == 202
    long_ago = utcnow() - timedelta(days=400)
    run_sql(app, "UPDATE tokens SET revoked_at = :then WHERE revoked_at IS NOT NULL", then=long_ago)
    run_sql(app, "UPDATE password_resets SET expires_at = :then", then=long_ago)
    run_sql(app, "UPDATE account_emails SET status = 'sent', created_at = :then", then=long_ago)
    run_sql(app, "INSERT INTO rate_limit_counters (key, count, expires_at) VALUES ('old', 3, :then), "
                 "('live', 1, :later)", then=long_ago, later=utcnow() + timedelta(hours=1))
    purged = app.test_cli_runner().invoke(args=["data", "purge"])
    assert purged.exit_code == 0 and "5 spent account-security rows" in purged.output, purged.output
    assert count(app, "password_resets") == count(app, "account_emails") == 0
    assert run_sql(app, "SELECT key FROM rate_limit_counters").scalars().all() == ["live"]
    assert client.get("/api/v1/me", headers=account.headers).status_code == 200  # the live token stays
