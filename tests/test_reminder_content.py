"""The reminder emails' words and MIME message, from trend reports of simulated children (no database)."""
import email
import functools
import html
import os
import random
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from backend.diary.simulation import Course, resolving, simulate, stable
from backend.mail.headers import WIRE, mailbox, sender_mailbox
from backend.reminders.content import Recipient, ReminderContext, period_rates, render_reminder
from backend.reminders.message import build_message
from backend.trends.charts import chart_alt_text
from backend.trends.engine import Verdict, WeekStats
from backend.trends.facts import ChildFacts, DevelopmentFact, EpisodeFact, SleepFact
from backend.trends.report import TrendReport, build_report

SNAPSHOTS = Path(__file__).parent / "snapshots" / "reminders"
BIRTH = date(2026, 6, 1)
NOW = datetime(2026, 9, 10, 12, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(24))
APP_URL = "https://myodiary.example"
UNSUBSCRIBE_URL = "https://myodiary.example/reminders/unsubscribe?token=abc.def&child=c1"
SENDER = sender_mailbox("Myodiary <reminders@myodiary.example>")
CAREGIVER = Recipient("u1", "Anna", "anna@example.com", "caregiver")
CLINICIAN = Recipient("u2", "Dr Weber", "weber@clinic.example", "clinician")
COURSES = {
    "resolving": resolving(6, 3),
    "stable": stable(3),
    "insufficient": Course(lambda week: 3.0, watched_share=0.15),
    "awake": Course(lambda week: 3.0, sleep_state="awake"),
    "spasms": Course(lambda week: 0.5, sleep_state="waking"),
}
LOST_SKILLS_CHECK = DevelopmentFact("check-1", date(2026, 9, 1), "yes", "yes")  # with "spasms": the pattern
NOT_A_DIAGNOSIS = "not a diagnosis"
KEEP_LOGGING = "A few more watched nights each week will show the trend."
DISCUSS = "Please discuss this with your clinician."


@functools.cache
def report_for(course: str, gestational_weeks: float = 39.0, name: str = "Mila") -> TrendReport:
    development = (LOST_SKILLS_CHECK,) if course == "spasms" else ()
    child = ChildFacts("c1", name, BIRTH, gestational_weeks, "Europe/Berlin", "bnsm", development=development)
    rows = list(simulate(random.Random(1), "c1", "Europe/Berlin", date(2026, 6, 8), 91, COURSES[course]))
    episodes = [EpisodeFact(v["id"], v["started_at"], v["duration_seconds"], v["sleep_state"],
                            v["stopped_when_woken"], ()) for table, v in rows if table == "episodes"]
    sleeps = [SleepFact(v["id"], v["started_at"], v["ended_at"], v["kind"], v["watched"])
              for table, v in rows if table == "sleep_sessions"]
    return build_report(child, episodes, sleeps, NOW)


def context_for(report: TrendReport, recipient: Recipient = CAREGIVER, kind: str = "scheduled",
                cadence: str = "weekly", new_red_flags: tuple[str, ...] = (),
                development_prompt: bool = False) -> ReminderContext:
    return ReminderContext(kind, cadence, recipient, report, PNG, chart_alt_text(report), APP_URL, UNSUBSCRIBE_URL,
                           new_red_flags, development_prompt)


def render(course: str = "resolving", **kwargs):
    report_options = {key: kwargs.pop(key) for key in ("gestational_weeks", "name") if key in kwargs}
    return render_reminder(context_for(report_for(course, **report_options), **kwargs))


def visible(page: str) -> str:
    """The words a reader sees in the HTML: no head, tags as spaces, entities decoded, whitespace collapsed."""
    body = re.sub(r"<head>.*</head>", " ", page, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def flat(text: str) -> str:
    return " ".join(text.split())


# ---- snapshots ---------------------------------------------------------------------------------

SPASMS_FLAGS = ("lost_skills", "spasms_pattern")
SNAPSHOT_CASES = {
    "caregiver_resolving": {"course": "resolving", "cadence": "monthly"},
    "caregiver_stable": {"course": "stable", "cadence": "weekly"},
    "caregiver_insufficient_data": {"course": "insufficient", "cadence": "biweekly"},
    "clinician_resolving": {"course": "resolving", "cadence": "monthly", "recipient": CLINICIAN},
    "caregiver_development_prompt": {"course": "resolving", "cadence": "weekly", "development_prompt": True},
    "clinician_development_prompt": {"course": "resolving", "cadence": "weekly", "development_prompt": True,
                                     "recipient": CLINICIAN},
    "caregiver_spasms_pattern": {"course": "spasms", "kind": "red_flag", "new_red_flags": SPASMS_FLAGS},
    "clinician_spasms_pattern": {"course": "spasms", "kind": "red_flag", "new_red_flags": SPASMS_FLAGS,
                                 "recipient": CLINICIAN},
}


def check_snapshot(path: Path, actual: str) -> bool:
    """Compare with the stored snapshot; write it (and say so) when missing or UPDATE_SNAPSHOTS=1."""
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="")
        return False
    assert actual == path.read_text(encoding="utf-8"), f"{path.name} differs; UPDATE_SNAPSHOTS=1 rewrites it"
    return True


@pytest.mark.parametrize("case", SNAPSHOT_CASES)
def test_reminder_matches_its_snapshot(case):
    rendered = render(**SNAPSHOT_CASES[case])
    parts = {".subject.txt": rendered.subject + "\n", ".txt": rendered.text, ".html": rendered.html}
    written = [f"{case}{suffix}" for suffix, actual in parts.items()
               if not check_snapshot(SNAPSHOTS / f"{case}{suffix}", actual)]
    if written:
        pytest.fail(f"Snapshots written to {SNAPSHOTS}: {', '.join(written)}; read them, then run again "
                    "without UPDATE_SNAPSHOTS")


# ---- what every email says ---------------------------------------------------------------------

VARIANTS = [
    {"course": course, "recipient": recipient, "kind": kind, "cadence": cadence}
    for course, kind, cadence in [("resolving", "scheduled", "monthly"), ("stable", "follow_up_3m", "weekly"),
                                  ("insufficient", "follow_up_6m", "biweekly"), ("awake", "red_flag", "weekly"),
                                  ("resolving", "worsening", "biweekly"), ("spasms", "scheduled", "weekly")]
    for recipient in (CAREGIVER, CLINICIAN)
] + [{"course": "stable", "recipient": recipient, "kind": "scheduled", "cadence": "weekly", "development_prompt": True}
     for recipient in (CAREGIVER, CLINICIAN)]


def variant_id(variant: dict) -> str:
    asking = "-development" if variant.get("development_prompt") else ""
    return f"{variant['course']}-{variant['kind']}-{variant['recipient'].role}{asking}"


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_every_email_says_it_is_not_a_diagnosis_and_links_the_diary(variant):
    rendered = render(**variant)
    for body in (rendered.text, visible(rendered.html)):
        assert NOT_A_DIAGNOSIS in body
        assert "alarm" not in body.lower()
    assert f"{APP_URL}/dashboard/children/c1" in rendered.text
    assert f'href="{APP_URL}/dashboard/children/c1"' in rendered.html


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_text_and_html_carry_the_same_facts(variant):
    rendered = render(**variant)
    page = visible(rendered.html)
    lines = [line.removeprefix("- ") for line in rendered.text.splitlines()]
    facts = [flat(line) for line in lines if line and line != "--" and "http" not in line
             and not line.startswith("Chart: ")]
    assert len(facts) >= 8
    assert [fact for fact in facts if fact not in page] == []
    assert f'alt="{escape(chart_alt_text(report_for(variant["course"])))}"' in rendered.html


def test_caregiver_subjects_follow_the_kind_and_the_period():
    assert render(cadence="monthly").subject == "Mila this month: fewer jerks (0.6 a night, down from 1.2)"
    assert render(cadence="weekly").subject == "Mila this week: no clear change (0.6 a night; 0.6 the week before)"
    assert render("insufficient").subject == "Mila this week: a few more watched nights will show the trend"
    assert render(kind="follow_up_3m").subject == "Mila is 3 months old: time for a follow-up"
    assert render(kind="red_flag").subject == "Mila: something to discuss with your clinician"


def test_the_period_compared_follows_the_cadence():
    assert "In the past week: 0.6 episodes per watched night (3 episodes on 5 watched nights), about the same as " \
           "0.6 in the week before (3 episodes on 5 watched nights)." in render(cadence="weekly").text
    assert "In the past 4 weeks: 0.6 episodes per watched night (12 episodes on 21 watched nights), down from 1.2 " \
           "in the 4 weeks before (33 episodes on 27 watched nights)." in render(cadence="monthly").text


def test_the_verdict_and_the_reference_point_for_this_age_are_in_words():
    text = render(cadence="monthly").text
    assert "Trend: resolving. The movements are becoming less frequent as your child grows." in text
    assert ("By 3 months of corrected age, 64% of babies with benign neonatal sleep myoclonus no longer have it. "
            "Mila is past this age.") in text
    assert "By 6 months of corrected age, 95% of babies" in text
    assert "Mila reaches this age in about 12 weeks." in text


def test_the_chart_is_inline_with_its_alt_text():
    rendered = render()
    alt = escape(chart_alt_text(report_for("resolving")))
    assert f'<img src="cid:{rendered.chart_cid}" alt="{alt}" width="600"' in rendered.html
    assert rendered.chart_cid.endswith("@myodiary.example") and "<" not in rendered.chart_cid


# ---- escaping ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("recipient", "in_text"), [(CAREGIVER, "Here is <b>Mila</b> & co's diary summary."),
                                                    (CLINICIAN, "<b>Mila</b> & co (BNSM). Age 3 months")],
                         ids=["caregiver", "clinician"])
def test_html_escapes_names_and_text_keeps_them(recipient, in_text):
    name = "<b>Mila</b> & co"
    rendered = render(name=name, recipient=replace(recipient, name='Anna "<i>" Meyer'))
    assert "<b>" not in rendered.html and "<i>" not in rendered.html
    assert "&lt;b&gt;Mila&lt;/b&gt; &amp; co" in rendered.html
    assert "Anna &#34;&lt;i&gt;&#34; Meyer" in rendered.html
    assert in_text in rendered.text
    assert 'Hello Anna "<i>" Meyer,' in rendered.text
    assert rendered.subject.startswith(name)


# ---- red flags, logging, ages --------------------------------------------------------------------

def test_red_flags_ask_to_discuss_them_with_the_clinician():
    report = report_for("awake")
    assert [flag.code for flag in report.red_flags] == ["awake_episodes"]
    rendered = render("awake")
    for body in (rendered.text, visible(rendered.html)):
        assert f"Since 9 June 2026: {report.red_flags[0].message}" in body
        assert DISCUSS in body
    assert DISCUSS not in render("resolving").text


def test_a_red_flag_reminder_opens_with_the_new_flags():
    text = render("awake", kind="red_flag", new_red_flags=("awake_episodes",)).text
    assert text.index("Something in Mila's diary is worth discussing with your clinician:") \
        < text.index("- New: Since 9 June 2026: Episodes happened while the child was awake") \
        < text.index(DISCUSS) < text.index("In the past week")


def test_insufficient_data_nudges_to_keep_logging():
    rendered = render("insufficient", cadence="biweekly")
    for body in (rendered.text, visible(rendered.html)):
        assert KEEP_LOGGING in body
        assert "The trend needs 4 weeks with at least 3 watched nights each; Mila's diary has 1 so far." in body
    assert KEEP_LOGGING not in render("stable").text


def test_corrected_age_appears_only_for_a_preterm_child():
    preterm, term = render(gestational_weeks=32.0), render()
    assert "Mila is 3 months old (corrected age 6 weeks)." in preterm.text
    assert re.search(r"corrected age \d", visible(preterm.html))
    assert "Mila is 3 months old." in term.text
    assert not re.search(r"corrected age \d", term.text + visible(term.html))
    assert render(gestational_weeks=32.0, kind="follow_up_3m").subject == \
        "Mila is 3 months old (corrected): time for a follow-up"


# ---- the infantile-spasms pattern and development checks -------------------------------------------------

URGENT_SUBJECT = "Mila: please contact your doctor soon"


@pytest.mark.parametrize("kind", ["scheduled", "follow_up_3m", "worsening", "red_flag"])
def test_the_spasms_pattern_is_the_most_urgent_email_whatever_its_kind(kind):
    rendered = render("spasms", kind=kind)
    assert rendered.subject == URGENT_SUBJECT
    for body in (rendered.text, visible(rendered.html)):
        assert body.index("Please contact your doctor soon about Mila. This is what the diary shows:") \
            < body.index("Please contact your doctor soon: repeated episodes on waking") \
            < body.index("This is not a diagnosis, but a clinician should see the child soon.") \
            < body.index("Please show your doctor Mila's diary; the link is below.") < body.index("Here is Mila")
        assert "spasms" not in body.lower() and "diagnos" in body
    assert "#b42318" in rendered.html  # the urgent colour, not the amber of other flags
    assert render("resolving", kind="worsening").subject != URGENT_SUBJECT


def test_the_clinician_reads_the_pattern_plainly_with_checks_and_episodes_counted_apart():
    report = report_for("spasms")
    pattern = next(flag for flag in report.red_flags if flag.code == "spasms_pattern")
    rendered = render("spasms", recipient=CLINICIAN, kind="red_flag", new_red_flags=SPASMS_FLAGS)
    assert rendered.subject.startswith("Mila (BNSM): please review soon (spasms_pattern, lost_skills); ")
    episodes = len(pattern.evidence) - 1
    for body in (rendered.text, visible(rendered.html)):
        assert "Please review soon: lost skills or no new skills at a development check, with 3 or more episodes on " \
               "waking within 28 days of it (the infantile-spasms pattern)." in body
        assert f"New: spasms_pattern, 1 development check and {episodes} episodes on waking since 1 September 2026" \
            in body
        assert "New: lost_skills, 1 development check since 1 September 2026" in body
    assert episodes >= 3


def test_a_development_prompt_asks_the_two_questions_of_the_app():
    rendered = render(development_prompt=True)
    for body in (rendered.text, visible(rendered.html)):
        assert "Time for Mila's development check." in body
        assert "Has Mila learned anything new since the last check (a smile, holding the head up, reaching, " \
               "babbling...)?" in body
        assert "Has Mila stopped doing anything they could do before?" in body
        assert "Please answer them in the app's development check" in body
    assert "development check" not in render().text
    clinician = render(recipient=CLINICIAN, development_prompt=True).text
    assert "Development check: none logged in the last 4 weeks; Myodiary asks the caregivers for one" in clinician


# ---- the clinician variant -----------------------------------------------------------------------

def test_clinician_variant_carries_the_rate_ratio_with_its_ci():
    report, rendered = report_for("resolving"), render(recipient=CLINICIAN, cadence="monthly")
    model = report.model
    rate_ratio = f"{model.rate_ratio_per_4_weeks:.2f} (95% CI {model.ci_low:.2f}-{model.ci_high:.2f})"
    assert rendered.subject == f"Mila (BNSM): resolving, RR {model.rate_ratio_per_4_weeks:.2f}/4 wk"
    for body in (rendered.text, visible(rendered.html)):
        assert f"Rate ratio per 4 weeks: {rate_ratio}" in body
        assert f"Model: quasi-Poisson, dispersion {model.dispersion:.2f}" in body  # dispersion 1.47 > 1
        assert f"Kendall tau: {model.kendall_tau:.2f}" in body
        assert str(report.summary["clinician"]) in body
        assert "3 months (corrected): 64% of BNSM resolved; passed" in body
    assert rate_ratio == "0.40 (95% CI 0.30-0.52)"  # Student t on the residual df, quasi-Poisson scale


def test_clinician_red_flags_carry_evidence_counts_and_since_dates():
    rendered = render("awake", recipient=CLINICIAN, kind="red_flag", new_red_flags=("awake_episodes",))
    count = len(report_for("awake").red_flags[0].evidence)
    assert rendered.subject.startswith("Mila (BNSM): to review (awake_episodes); stable, RR ")
    assert f"- New: awake_episodes, {count} episodes since 9 June 2026: Episodes happened" in rendered.text


# ---- period_rates on hand-made weeks -------------------------------------------------------------

HAND_MADE = [(20, 5), (14, 7), (12, 6), (0, 0), (9, 6), (8, 4), (6, 6), (0, 0), (3, 5), (40, 2)]


def week(number: int, episodes: int, nights: int) -> WeekStats:
    return WeekStats(number, BIRTH + timedelta(weeks=number), float(number), None, episodes, 0, nights,
                     11.0 * nights, episodes / nights if nights else None, None, None, None, None)


def hand_made(now: datetime, weeks=HAND_MADE) -> TrendReport:
    child = ChildFacts("c1", "Mila", BIRTH, 39.0, "Europe/Berlin", "bnsm")
    weekly = [week(number, *counts) for number, counts in enumerate(weeks)]
    return TrendReport(child, "chronological", now, 9.3, 8.3, weekly, None, Verdict("stable", ["hand-made"]), [], [],
                       {"caregiver": "", "clinician": ""}, {"episodes": 112, "watched_nights": 41, "observed_weeks": 7})


IN_WEEK_9 = datetime(2026, 8, 5, 12, tzinfo=UTC)  # week 9 (from 3 August) is still being logged


@pytest.mark.parametrize(("weeks", "expected"), [
    (1, (0.6, None, 5, 0)),  # week 8 against week 7, which nobody watched
    (2, (0.6, 1.4, 5, 10)),  # weeks 7-8 against 5-6
    (4, (17 / 15, 35 / 19, 15, 19)),  # weeks 5-8 against 1-4
])
def test_period_rates_compare_completed_weeks(weeks, expected):
    assert period_rates(hand_made(IN_WEEK_9), weeks) == pytest.approx(expected)


def test_period_rates_for_a_period_nobody_watched():
    in_week_8 = datetime(2026, 7, 29, 12, tzinfo=UTC)
    assert period_rates(hand_made(in_week_8), 1) == (None, 1.0, 0, 6)
    assert period_rates(hand_made(in_week_8, []), 4) == (None, None, 0, 0)
    rendered = render_reminder(context_for(hand_made(in_week_8)))
    assert rendered.subject == "Mila this week: no watched nights logged"
    assert ("Nobody logged a watched night in the past week, so there is no number for it; in the week before there "
            "were 1.0 episodes per watched night (6 episodes on 6 watched nights).") in rendered.text


def test_quiet_weeks_read_as_no_episodes_not_as_a_rate():
    quiet = hand_made(datetime(2026, 6, 20, 12, tzinfo=UTC), [(0, 6), (0, 5), (1, 4)])  # week 2 in progress
    text = render_reminder(context_for(quiet)).text
    assert "In the past week: no episodes on 5 watched nights, and none in the week before (6 watched nights)." in text


def test_a_week_is_complete_at_noon_after_its_last_night():
    morning, afternoon = datetime(2026, 8, 3, 8, tzinfo=UTC), datetime(2026, 8, 3, 11, tzinfo=UTC)  # 10:00, 13:00 local
    assert period_rates(hand_made(morning), 1)[0] is None  # week 7; week 8's last night is not over
    assert period_rates(hand_made(afternoon), 1)[0] == 0.6


# ---- the MIME message ----------------------------------------------------------------------------

def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=policy.default)


def test_message_is_text_and_html_with_the_chart_inline():
    rendered = render()
    message = parsed(build_message(rendered, PNG, SENDER, mailbox("", "anna@example.com"),
                                   UNSUBSCRIBE_URL, message_id="<fixed@myodiary.example>"))
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png"]
    image = next(part for part in message.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == f"<{rendered.chart_cid}>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == PNG
    page = message.get_body(("html",)).get_content()
    assert f'src="cid:{rendered.chart_cid}"' in page
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text
    assert escape(UNSUBSCRIBE_URL) in page and UNSUBSCRIBE_URL in rendered.text


def test_message_headers_allow_one_click_unsubscribe():
    rendered = render()
    message = build_message(rendered, PNG, sender_mailbox("reminders@myodiary.example"),
                            mailbox("", "anna@example.com"), UNSUBSCRIBE_URL,
                            unsubscribe_mailto="mailto:unsubscribe@myodiary.example?subject=c1")
    back = parsed(message)
    assert back["List-Unsubscribe"] == f"<{UNSUBSCRIBE_URL}>, <mailto:unsubscribe@myodiary.example?subject=c1>"
    assert back["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert back["Auto-Submitted"] == "auto-generated"
    assert back["Subject"] == rendered.subject
    assert (back["From"], back["To"]) == ("reminders@myodiary.example", "anna@example.com")
    assert back["Message-ID"].endswith("@myodiary.example>")
    assert abs(parsedate_to_datetime(back["Date"]).replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_long_unsubscribe_url_is_folded_but_never_encoded():
    url = "https://myodiary.example/reminders/unsubscribe?token=" + "t" * 180
    raw = build_message(render(), PNG, sender_mailbox("a@myodiary.example"), mailbox("", "b@example.com"), url,
                        "mailto:u@myodiary.example")
    header = raw.as_bytes().split(b"\r\n\r\n")[0].decode()
    assert f"List-Unsubscribe: <{url}>,\r\n <mailto:u@myodiary.example>\r\n" in header
    assert parsed(raw)["List-Unsubscribe"] == f"<{url}>, <mailto:u@myodiary.example>"


def test_names_beyond_ascii_are_encoded_in_headers_and_read_back_whole():
    rendered = render(name="Zoë Łucja")
    raw = build_message(rendered, PNG, SENDER, mailbox("Anaïs Ñúñez", "anais@example.com"),
                        UNSUBSCRIBE_URL)
    head = raw.as_bytes().split(b"\r\n\r\n")[0]
    assert head.isascii() and b"=?utf-8?" in head
    back = parsed(raw)
    assert "Zoë Łucja" in rendered.subject and back["Subject"] == rendered.subject
    assert back["To"].addresses[0].display_name == "Anaïs Ñúñez"
    assert back["To"].addresses[0].addr_spec == "anais@example.com"
    assert "Zoë Łucja" in back.get_body(("plain",)).get_content()


HEADER_NAMES = st.sampled_from(["Subject", "To", "From", "Message-ID", "List-Unsubscribe-Post", "X-A"])


TRICKY = st.sampled_from(["\n", "\r", "\x0c", "\t", "\x00", " ", "é", "=", "?", "<", ">", ",", ";"])
HEADER_VALUES = st.text(st.sampled_from("abcXYZ019 @.") | TRICKY | st.characters(max_codepoint=0x17F), max_size=110)


@given(HEADER_NAMES, HEADER_VALUES)
def test_headers_fold_on_the_wire_as_compat32_folds_them(name, value):
    """The wire policy writes short plain headers as they are: byte for byte what compat32 writes."""
    assert WIRE.fold_binary(name, value) == policy.compat32.clone(linesep="\r\n").fold_binary(name, value)


@pytest.mark.parametrize("value", ["Mila\r\nBcc: spy@evil.example", "Mila\nX-Injected: yes", "A\rB"])
def test_no_header_value_can_hold_a_line_break(value):
    message = build_message(render(), PNG, SENDER, mailbox("", "anna@example.com"), UNSUBSCRIBE_URL)
    with pytest.raises(ValueError, match="line break"):
        message["X-Note"] = value


def test_a_display_name_is_one_quoted_line_and_never_a_recipient():
    raw = build_message(render(), PNG, SENDER, mailbox("Eve\r\n Bcc: spy@evil.example", "eve@example.com"),
                        UNSUBSCRIBE_URL).as_bytes()
    head = raw.split(b"\r\n\r\n")[0].decode()
    assert 'To: "Eve Bcc: spy@evil.example" <eve@example.com>\r\n' in head
    assert "\nBcc" not in head and [a.addr_spec for a in parsed_bytes(raw)["To"].addresses] == ["eve@example.com"]


def parsed_bytes(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)
