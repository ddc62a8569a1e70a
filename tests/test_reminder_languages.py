"""The reminder emails in each recipient's language (issue 22): co-parents of one child read two languages.

Over a real SMTP server (aiosmtpd): a Spanish parent, a German co-parent and an English clinician of one child
each get their email in their own words, dates and numbers, with Content-Language and <html lang>. Every kind of
email, rendered in the pseudo-locale, leaves no English word of the product outside the catalogs.
"""
import html
import random
import re
from datetime import UTC, datetime

import pytest
import time_machine
from flask_babel import force_locale

from backend.diary.simulation import simulate
from backend.reminders.content import Recipient, ReminderContext, render_reminder
from backend.trends.charts import chart_alt_text
from backend.trends.facts import ChildFacts, EpisodeFact, SleepFact
from backend.trends.report import build_report
from tests.helpers import episode_body, sleep_body
from tests.pseudo_locale import PSEUDO, english_leaks, english_vocabulary
from tests.test_reminder_content import BIRTH, COURSES, LOST_SKILLS_CHECK, NOW, PNG
from tests.test_reminders import run_dispatch, schedule

SCHEDULED_AT = datetime(2026, 12, 4, 12, tzinfo=UTC)
SUNDAY_EVENING = datetime(2026, 12, 6, 18, tzinfo=UTC)  # 19:00 in Berlin
# Two watched nights a week: 3 episodes in the week of 19 November (1.5 a night), 1 in the next (0.5 a night)
WATCHED_NIGHTS = ("2026-11-20", "2026-11-21", "2026-11-27", "2026-11-28")
EPISODES_AFTER = ("2026-11-20", "2026-11-20", "2026-11-21", "2026-11-27")
AWAKE_ON = "2026-12-03"  # a red flag since 3 December 2026


def visible(page: str) -> str:
    """The words a reader sees in the HTML: no head, tags as spaces, entities decoded, whitespace collapsed."""
    body = re.sub(r"<head>.*</head>", " ", page, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def bodies(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def log_watched_weeks(client, account, child_id: str) -> None:
    for night in WATCHED_NIGHTS:
        following = f"{night[:-2]}{int(night[-2:]) + 1:02d}"
        response = client.post(f"/api/v1/children/{child_id}/sleep-sessions", headers=account.headers, json=sleep_body(
            started_at=f"{night}T19:30:00+01:00", ended_at=f"{following}T06:30:00+01:00"))
        assert response.status_code == 201, response.json
    for night in EPISODES_AFTER:
        following = f"{night[:-2]}{int(night[-2:]) + 1:02d}"
        response = client.post(f"/api/v1/children/{child_id}/episodes", headers=account.headers,
                               json=episode_body(started_at=f"{following}T02:{10 + len(night):02d}:00+01:00"))
        assert response.status_code == 201, response.json
    response = client.post(f"/api/v1/children/{child_id}/episodes", headers=account.headers,
                           json=episode_body(sleep_state="awake", started_at=f"{AWAKE_ON}T10:00:00+01:00"))
    assert response.status_code == 201, response.json


def speaks(client, account, locale: str) -> None:
    assert client.patch("/api/v1/me", json={"locale": locale}, headers=account.headers).json["locale"] == locale


def test_co_parents_and_their_clinician_each_read_the_reminder_in_their_language(app, client, family, smtp):
    child_id, owner, caregiver, clinician = (family["child"]["id"], family["owner"], family["caregiver"],
                                             family["clinician"])
    speaks(client, owner, "es")
    speaks(client, caregiver, "de")
    log_watched_weeks(client, owner, child_id)
    with time_machine.travel(SCHEDULED_AT, tick=False):
        assert schedule(client, owner, child_id, recipients=[owner.id, caregiver.id, clinician.id]).status_code == 200
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        assert run_dispatch(app).sent == 3
    (spanish,), (german,), (english,) = smtp.to(owner.email), smtp.to(caregiver.email), smtp.to(clinician.email)

    assert spanish["Content-Language"] == "es" and spanish["Subject"].startswith("Mila esta semana: ")
    text, page = bodies(spanish)
    assert '<html lang="es">' in page
    for body in (text, visible(page)):
        assert body.startswith("Hola, Caregiver 1:") or "Hola, Caregiver 1:" in body
        assert "Desde el 3 de diciembre de 2026: " in body
        assert "En la última semana: 0,5 episodios por noche observada (1 episodio en 2 noches observadas)" in body
        assert "1,5" in body and "Myodiary envía el resumen del diario de Mila al equipo de cuidado cada domingo a " \
            "las 19:00 (Europe/Berlin)." in body
        assert "Please" not in body and "December" not in body

    assert german["Content-Language"] == "de" and german["Subject"].startswith("Mila diese Woche: ")
    text, page = bodies(german)
    assert '<html lang="de">' in page
    for body in (text, visible(page)):
        assert "Hallo Caregiver 2," in body
        assert "Seit dem 3. Dezember 2026: " in body
        assert "In der letzten Woche: 0,5 Episoden pro beobachteter Nacht (1 Episode in 2 beobachteten Nächten)" in body
        assert "1,5" in body and "Please" not in body and "December" not in body
        assert "jeden Sonntag um 19:00 (Europe/Berlin) an das Betreuungsteam" in body

    assert english["Content-Language"] == "en" and english["Subject"].startswith("Mila (BNSM): ")
    text, page = bodies(english)
    assert '<html lang="en">' in page
    for body in (text, visible(page)):
        assert "Hello Clinician 3," in body and "since 3 December 2026: " in body
        assert "The past week: 0.50 per watched night (1 episode on 2 watched nights)" in body
        assert "to the care team every Sunday at 19:00 (Europe/Berlin)." in body

    charts = [next(part for part in message.walk() if part.get_content_type() == "image/png").get_content()
              for message in (spanish, german, english)]
    assert len(set(charts)) == 3  # each chart drawn in its reader's words


def test_the_unsubscribe_page_speaks_the_recipients_language(app, client, family, smtp):
    speaks(client, family["owner"], "de")
    with time_machine.travel(SCHEDULED_AT, tick=False):
        schedule(client, family["owner"], family["child"]["id"], recipients=[family["owner"].id])
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        run_dispatch(app)
        (message,) = smtp.to(family["owner"].email)
        path = "/" + message["List-Unsubscribe"].split("<")[1].split(">")[0].split("://", 1)[1].split("/", 1)[1]
        page = client.get(path, headers={"Accept-Language": "en"})  # the link's reader, not the browser, decides
        assert page.status_code == 200 and b"<html lang=de>" in page.data
        assert "Die Verlaufs-E-Mails zu Mila abbestellen?" in page.get_data(as_text=True)
        done = client.post(path).get_data(as_text=True)
        assert "Sie erhalten keine Verlaufs-E-Mails zu Mila mehr." in done
    refused = client.get("/api/v1/reminders/unsubscribe/not-a-token", headers={"Accept-Language": "es"})
    assert refused.status_code == 404 and "no es válido" in refused.get_data(as_text=True)


# ---- the pseudo-locale: every kind of email, both readers ----------------------------------------------------

NAME, READER = "Zoë Ŋ", "Ilka"
KINDS = [  # course, kind, cadence, development prompt, new red flags, gestational weeks
    ("resolving", "scheduled", "monthly", False, (), 39.0),
    ("insufficient", "scheduled", "biweekly", False, (), 39.0),
    ("stable", "scheduled", "weekly", True, (), 39.0),
    ("stable", "follow_up_3m", "weekly", False, (), 39.0),
    ("resolving", "follow_up_6m", "weekly", False, (), 32.0),
    ("resolving", "worsening", "weekly", False, (), 39.0),
    ("awake", "red_flag", "weekly", False, ("awake_episodes",), 39.0),
    ("spasms", "red_flag", "weekly", False, ("lost_skills", "spasms_pattern"), 39.0),
]


def pseudo_report(course: str, gestational_weeks: float):
    """A simulated child's report, built as the dispatcher builds it: in the reader's locale."""
    development = (LOST_SKILLS_CHECK,) if course == "spasms" else ()
    child = ChildFacts("c1", NAME, BIRTH, gestational_weeks, "Europe/Berlin", "bnsm", development=development)
    rows = list(simulate(random.Random(1), "c1", "Europe/Berlin", BIRTH.replace(day=8), 91, COURSES[course]))
    episodes = [EpisodeFact(v["id"], v["started_at"], v["duration_seconds"], v["sleep_state"],
                            v["stopped_when_woken"], ()) for table, v in rows if table == "episodes"]
    sleeps = [SleepFact(v["id"], v["started_at"], v["ended_at"], v["kind"], v["watched"])
              for table, v in rows if table == "sleep_sessions"]
    return build_report(child, episodes, sleeps, NOW)


@pytest.mark.pseudo_locale
@pytest.mark.parametrize("role", ["caregiver", "clinician"])
@pytest.mark.parametrize(("course", "kind", "cadence", "asking", "new_flags", "weeks"), KINDS,
                         ids=[f"{kind}-{course}{'-development' if asking else ''}" for course, kind, _, asking, _, _
                              in KINDS])
def test_every_reminder_in_the_pseudo_locale_leaves_no_english(app, role, course, kind, cadence, asking, new_flags,
                                                               weeks):
    with app.app_context(), force_locale(PSEUDO):
        report = pseudo_report(course, weeks)
        recipient = Recipient("u1", READER, "ilka@example.org", role, PSEUDO)
        rendered = render_reminder(ReminderContext(kind, cadence, recipient, report, PNG, chart_alt_text(report),
                                                   "https://myodiary.example", "https://myodiary.example/u?t=1",
                                                   new_flags, asking))
    assert rendered.language == PSEUDO and f'<html lang="{PSEUDO}">' in rendered.html
    codes = {word for flag in report.red_flags for word in flag.code.split("_")} if role == "clinician" else set()
    allowed = {*NAME.split(), READER, *codes}
    vocabulary = english_vocabulary()
    for part in (rendered.subject, rendered.text, visible(rendered.html)):
        assert english_leaks(re.sub(r"https?://\S+", " ", part), vocabulary, allowed) == [], part
