"""/metrics (issue 24): counters by route template, product counters where things happen, gauges read from the
database, who may read it, and counters that add up across gunicorn's workers."""
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families

from backend.extensions import db
from backend.observability.events import count
from backend.observability.metrics import pushed_records, serve_scheduler_metrics
from backend.videos.models import EpisodeVideo
from tests.helpers import episode_body, free_port
from tests.sync_helpers import Phone, changes, raw_episode
from tests.test_reminders import BERLIN_SUNDAY_EVENING, run_dispatch, schedule

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
C = "/api/v1/children/<child_id>"


class Samples(dict):
    """{(name, ((label, value), ...)): value} of one scrape."""

    @classmethod
    def parse(cls, text: str) -> "Samples":
        return cls({(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                    for family in text_string_to_metric_families(text) for sample in family.samples})

    def value(self, name: str, **labels) -> float:
        return self.get((name, tuple(sorted(labels.items()))), 0.0)

    def total(self, name: str, **labels) -> float:
        """The sum over every series of `name` with these labels (and any others)."""
        return sum(value for (sample, sample_labels), value in self.items()
                   if sample == name and set(labels.items()) <= set(sample_labels))


def scrape(client, **kwargs) -> Samples:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.content_type.startswith("text/plain")
    return Samples.parse(response.get_data(as_text=True))


# ---- HTTP ----------------------------------------------------------------------------------------

def test_requests_are_counted_by_method_route_template_and_status(client, family):
    child_id, headers = family["child"]["id"], family["owner"].headers
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/api/v1/children/{child_id}", headers=headers).status_code == 200
    assert client.get("/api/v1/children/not-a-child", headers=headers).status_code == 404
    assert client.get(f"/api/v1/no/such/{child_id}").status_code == 404
    response = client.get("/metrics")
    after = Samples.parse(response.get_data(as_text=True))

    counted = "myodiary_http_requests_total"
    assert after.value(counted, method="GET", route=C, status="200") - before.value(
        counted, method="GET", route=C, status="200") == 3
    assert after.value(counted, method="GET", route=C, status="404") - before.value(
        counted, method="GET", route=C, status="404") == 1
    assert after.value(counted, method="GET", route="unmatched", status="404") >= 1
    assert after.value("myodiary_http_request_duration_seconds_count", method="GET", route=C) >= 4
    assert child_id not in response.get_data(as_text=True)  # labels are templates, never paths with ids
    assert "not-a-child" not in response.get_data(as_text=True)


def test_every_response_carries_a_request_id_and_keeps_a_proxys_sane_one(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/healthz").headers["X-Request-ID"]
    assert client.get("/healthz", headers={"X-Request-ID": "edge-4f2a:17"}).headers["X-Request-ID"] == "edge-4f2a:17"
    for insane in ("a b", "x" * 200, "<script>", "id\u00e9"):
        kept = client.get("/healthz", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert kept != insane and len(kept) == 32
    assert client.get("/api/v1/nowhere").headers["X-Request-ID"]  # errors too


# ---- who may read ----------------------------------------------------------------------------------

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


def test_remote_callers_get_403_in_the_error_shape_without_the_token(client):
    response = client.get("/metrics", environ_base=REMOTE)
    assert response.status_code == 403
    assert response.json["code"] == 403 and response.json["status"] == "Forbidden" and response.json["message"]
    assert client.get("/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer guess"}).status_code == 403


def test_a_loopback_request_a_proxy_passed_on_is_a_remote_one(client):
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403


@pytest.mark.config(METRICS_TOKEN="scrape-token-1234567890")
def test_the_token_opens_metrics_to_remote_callers(client):
    assert client.get("/metrics", environ_base=REMOTE).status_code == 403
    assert client.get("/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer wrong"}).status_code == 403
    scrape(client, environ_base=REMOTE, headers={"Authorization": "Bearer scrape-token-1234567890"})
    scrape(client)  # loopback still reads without it


def test_metrics_are_not_in_the_public_spec(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert not [path for path in paths if "metrics" in path]


@pytest.mark.config(METRICS_ENABLED=False)
def test_metrics_can_be_turned_off(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/healthz").headers["X-Request-ID"]


# ---- product counters ------------------------------------------------------------------------------

def test_sync_pulls_pushes_records_conflicts_and_rejections(client, family):
    child_id = family["child"]["id"]
    mum, dad = Phone(client, family["owner"], "mumphone1"), Phone(client, family["caregiver"], "dadphone1")
    before = scrape(client)
    mum.pull(), dad.pull()
    assert mum.push(changes(episodes={"created": [raw_episode("ep1", child_id), raw_episode("ep2", child_id)]},
                            )).status_code == 200
    dad.pull(), mum.pull()
    assert mum.push(changes(episodes={"updated": [raw_episode("ep1", child_id, side="left")]})).status_code == 200
    assert dad.push(changes(episodes={"updated": [raw_episode("ep1", child_id, jerk_count=7)]})).status_code == 409
    assert mum.push(changes(episodes={"created": [raw_episode("ep3", child_id, sleep_state="x")]})).status_code == 422
    after = scrape(client)

    def grew(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    assert grew("myodiary_sync_pulls_total", status="200") == 4
    assert grew("myodiary_sync_pushes_total", status="200") == 2
    assert grew("myodiary_sync_pushes_total", status="409") == 1
    assert grew("myodiary_sync_pushes_total", status="422") == 1
    assert grew("myodiary_sync_conflicts_total") == 1 and grew("myodiary_sync_rejections_total") == 1
    assert grew("myodiary_sync_records_pushed_total", table="episodes", change="created") == 2
    assert grew("myodiary_sync_records_pushed_total", table="episodes", change="updated") == 1


def test_a_push_body_that_is_not_changes_counts_no_records():
    assert pushed_records(b"") == [] and pushed_records(b"[1]") == [] and pushed_records(b"{not json") == []
    assert pushed_records(b'{"episodes": {"created": [{}], "updated": [], "deleted": ["a", "b"]}, "x": 1}') == [
        ("episodes", "created", 1), ("episodes", "deleted", 2)]


class Refusing:
    """An SMTP server that refuses every message."""

    async def handle_DATA(self, server, session, envelope):
        return "554 5.7.1 Refused by the test"


def test_a_refused_reminder_shows_in_the_failure_counters_and_the_oldest_due_age(app, client, family):
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        assert schedule(client, family["owner"], family["child"]["id"],
                        recipients=[family["owner"].id]).status_code == 200
    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_TIMEOUT_SECONDS=5)
    try:
        before = scrape(client)
        with time_machine.travel(BERLIN_SUNDAY_EVENING, tick=False):
            assert run_dispatch(app).retrying == 1
        with time_machine.travel(BERLIN_SUNDAY_EVENING + timedelta(minutes=20), tick=False):
            waiting = scrape(client)
        attempt = BERLIN_SUNDAY_EVENING
        for _ in range(10):  # the backoff, until it is given up
            attempt += timedelta(hours=4)
            with time_machine.travel(attempt, tick=False):
                if run_dispatch(app).failed:
                    break
        given_up = scrape(client)
    finally:
        controller.stop()
    reminders = "myodiary_reminders_total"
    assert waiting.value(reminders, outcome="queued") - before.value(reminders, outcome="queued") == 1
    assert waiting.value(reminders, outcome="retrying") - before.value(reminders, outcome="retrying") == 1
    assert waiting.value("myodiary_reminders_queued") == 1 and waiting.value("myodiary_reminders_retrying") == 1
    assert waiting.value("myodiary_reminders_oldest_due_age_seconds") == pytest.approx(20 * 60, abs=1)
    assert given_up.value(reminders, outcome="failed") - before.value(reminders, outcome="failed") == 1
    assert given_up.value("myodiary_reminders_queued") == 0
    assert given_up.value("myodiary_reminders_oldest_due_age_seconds") == 0
    assert given_up.value("myodiary_scheduler_heartbeat_timestamp_seconds") == attempt.timestamp()


def test_database_gauges_count_stale_summaries_and_videos(app, client, family):
    child_id, headers = family["child"]["id"], family["owner"].headers
    assert client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(), headers=headers).status_code == 201
    assert scrape(client).value("myodiary_summaries_stale") >= 1
    client.get(f"/api/v1/children/{child_id}/trends", headers=headers)  # its reader rebuilds it
    episode = client.get(f"/api/v1/children/{child_id}/episodes", headers=headers).json["items"][0]
    now = datetime.now(UTC)
    with app.app_context():
        for video_id, status, size, updated in (("clip-ready", "ready", 2500, now),
                                                ("clip-waiting", "processing", 900, now - timedelta(hours=1))):
            db.session.add(EpisodeVideo(id=video_id, episode_id=episode["id"], child_id=child_id, status=status,
                                        uploaded_by=family["owner"].id, size_bytes=size, upload_length=size,
                                        upload_offset=size, updated_at=updated))
        db.session.commit()
    samples = scrape(client)
    assert samples.value("myodiary_videos", status="ready") == 1
    assert samples.value("myodiary_videos", status="processing") == 1
    assert samples.value("myodiary_videos", status="uploading") == 0
    assert samples.value("myodiary_video_bytes_stored", kind="videos") == 2500
    assert samples.value("myodiary_videos_oldest_processing_age_seconds") == pytest.approx(3600, abs=60)
    assert samples.value("myodiary_database_up") == 1


# ---- several gunicorn workers ------------------------------------------------------------------------

def _non_loopback_address() -> str | None:
    """This machine's address on a network, if it has one (to call as a remote caller would)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def _get(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _start_gunicorn(app, tmp_path, metrics_folder: Path, bind: str, **environment):
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "MYODIARY_INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": "metrics-secret", "LOG_LEVEL": "WARNING",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_folder), **environment}
    with (tmp_path / "gunicorn.log").open("wb") as log:
        return subprocess.Popen([str(GUNICORN), "-c", "python:backend.gunicorn_config", "--workers", "2",
                                 "--bind", bind, "backend:create_app()"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)


def _wait_until(check, server, tmp_path, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "gunicorn.log").read_text()
        time.sleep(0.2)


def _workers(master: int) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def test_counters_add_up_across_two_gunicorn_workers_and_outlive_a_dead_one(app, tmp_path):
    port, folder, token = free_port(), tmp_path / "metrics", "scrape-token-0987654321"
    server = _start_gunicorn(app, tmp_path, folder, f"0.0.0.0:{port}", METRICS_TOKEN=token)
    base = f"http://127.0.0.1:{port}"
    healthz = ("myodiary_http_requests_total", {"method": "GET", "route": "/healthz", "status": "200"})
    try:
        # both workers first, then one health check: a check while the second was still starting counted too
        _wait_until(lambda: len(_workers(server.pid)) == 2, server, tmp_path)
        _wait_until(lambda: _get(f"{base}/healthz")[0] == 200, server, tmp_path)
        requests = 60
        for _ in range(requests - 1):  # one answered already
            assert _get(f"{base}/healthz")[0] == 200
        assert len(list(folder.glob("counter_*.db"))) >= 2, "both workers answered, each writing its own file"
        status, text = _get(f"{base}/metrics")
        assert status == 200
        samples = Samples.parse(text)
        assert samples.value(healthz[0], **healthz[1]) == requests
        assert samples.value("myodiary_web_workers") == 2
        assert samples.value("myodiary_http_request_duration_seconds_count", method="GET", route="/healthz") == \
            requests

        victim = _workers(server.pid)[0]
        os.kill(victim, signal.SIGKILL)
        _wait_until(lambda: victim not in _workers(server.pid) and len(_workers(server.pid)) == 2, server, tmp_path)
        _wait_until(lambda: _get(f"{base}/healthz")[0] == 200, server, tmp_path)
        samples = Samples.parse(_get(f"{base}/metrics")[1])
        assert samples.value(healthz[0], **healthz[1]) == requests + 1  # what the dead worker counted stays
        assert samples.value("myodiary_web_workers") == 2  # its live gauge left with it (child_exit)

        if (address := _non_loopback_address()) is not None:  # a caller from the network
            remote = f"http://{address}:{port}/metrics"
            status, body = _get(remote)
            assert status == 403 and '"status": "Forbidden"' in body.replace('":"', '": "')
            assert _get(remote, {"Authorization": "Bearer wrong"})[0] == 403
            assert _get(remote, {"Authorization": f"Bearer {token}"})[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_scheduler_serves_its_own_counters_under_the_same_rule(app):
    port = free_port()
    app.config.update(SCHEDULER_METRICS_PORT=port, SCHEDULER_METRICS_ADDRESS="0.0.0.0", METRICS_TOKEN="sched-token")
    server = serve_scheduler_metrics(app)
    try:
        count("reminders", "sent")
        status, text = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and Samples.parse(text).value("myodiary_reminders_total", outcome="sent") >= 1
        assert "myodiary_reminders_queued" not in text  # the database's gauges are the web tier's
        if (address := _non_loopback_address()) is not None:
            status, body = _get(f"http://{address}:{port}/metrics")
            assert status == 403 and '"code": 403' in body
            assert _get(f"http://{address}:{port}/metrics", {"Authorization": "Bearer sched-token"})[0] == 200
    finally:
        server.shutdown()
        server.server_close()
