"""The app most tests share (tests/conftest.py) comes back as it was made after every test: a test that changes
its settings, its video storage or its files leaves nothing for the next one. The two tests run in this order,
in one process (pytest keeps a file's order; xdist's --dist loadfile keeps a file on one worker)."""
from pathlib import Path

import pytest

from backend.videos.storage import storage

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_a_test_changes_the_shared_app(app):
    app.config.update(MAIL_SERVER="mail.example.org", VIDEO_MAX_BYTES=7)
    with app.app_context():
        storage()  # made from the settings and kept on the app
    (Path(app.config["INSTANCE_DIR"]) / "outbox").mkdir()
    (Path(app.config["INSTANCE_DIR"]) / "outbox" / "left-behind.eml").write_text("From: test")
    assert "video_storage" in app.extensions


def test_the_next_test_gets_it_back_as_it_was_made(app):
    assert app.config["VIDEO_MAX_BYTES"] != 7 and app.config["MAIL_SERVER"] != "mail.example.org"
    assert "video_storage" not in app.extensions
    assert list(Path(app.config["INSTANCE_DIR"]).iterdir()) == []
