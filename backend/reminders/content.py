"""What the follow-up reminder emails say (templates/reminders/); message.py builds the MIME message that carries them.

Families are told the jerks fade with age; each email shows whether they do and when to see the
clinician, clinicians get the numbers. Never a diagnosis, and every email says so.
"""
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from backend.children.ages import CORRECTED_AGE_USED_UNTIL_DAYS, PRETERM_BEFORE_WEEKS, WEEKS_SHOWN_UNTIL, describe
from backend.mail.headers import MAIL_DOMAIN
from backend.reminders.events import DEVELOPMENT_PROMPT_DAYS
from backend.trends import formatting
from backend.trends import thresholds as t
from backend.trends.charts import verdict_label
from backend.trends.engine import RateChange, WeekStats, compare_rates, diary_day, pooled_rate
from backend.trends.red_flags import SPASMS_MIN_WAKING_EPISODES, SPASMS_WINDOW_DAYS, RedFlag
from backend.trends.report import ReferencePoint, TrendReport
from backend.trends.summaries import NOT_A_DIAGNOSIS, URGENT_FLAGS, VERDICT_WORDS

TEMPLATES = Path(__file__).parent / "templates"
ENVIRONMENT = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)

CADENCE_WEEKS = {"weekly": 1, "biweekly": 2, "monthly": 4}
CADENCE_SUBJECT = {"weekly": "this week", "biweekly": "these 2 weeks", "monthly": "this month"}
CADENCE_FOOTER = {"weekly": "every week", "biweekly": "every 2 weeks", "monthly": "every month"}
FOLLOW_UP_AGES = {"follow_up_3m": "3 months", "follow_up_6m": "6 months"}
FOLLOW_UP_VISITS = {"follow_up_3m": "3-month", "follow_up_6m": "6-month"}
DISCUSS_KINDS = ("worsening", "red_flag")
CONDITION_CODES = {"bnsm": "BNSM", "benign_myoclonus_of_infancy": "BMEI", "hypnic_jerks": "hypnic jerks"}
FAMILIES = {"poisson": "Poisson", "quasi_poisson": "quasi-Poisson"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
KEEP_LOGGING = "A few more watched nights each week will show the trend."
MARK_WATCHED = ("When someone watches a night, please mark it as watched in the app, even when there are no jerks: "
                "a quiet night counts too.")
NIGHTS_VARY = "Nights vary, so a change this size is not a trend on its own."
CLINICIAN_NOTE = "These figures summarise what the caregivers recorded in Myodiary; they are not a diagnosis."
DEVELOPMENT_FLAGS = ("spasms_pattern", "lost_skills")  # evidence: development check ids, then episode ids
DISCUSS_CLOSING = "Please discuss this with your clinician."
REVIEW_CLOSING = "Please discuss these with the family."
# The infantile-spasms pattern (CLINICAL.md red flag 3): the most urgent words the product has, still no diagnosis.
URGENT_CAREGIVER_LEAD = "Please contact your doctor soon about {child}. This is what the diary shows:"
URGENT_CAREGIVER_CLOSING = "Please show your doctor {child}'s diary; the link is below."
URGENT_CLINICIAN_LEAD = (f"Please review soon: lost skills or no new skills at a development check, with "
                         f"{SPASMS_MIN_WAKING_EPISODES} or more episodes on waking within {SPASMS_WINDOW_DAYS} days of "
                         "it (the infantile-spasms pattern). The family was asked to contact their doctor soon.")
DEVELOPMENT_QUESTIONS = ("Has {child} learned anything new since the last check (a smile, holding the head up, "
                         "reaching, babbling...)?", "Has {child} stopped doing anything they could do before?")
PROMPT_WEEKS = f"{DEVELOPMENT_PROMPT_DAYS // 7} weeks"
DEVELOPMENT_ASK = (f"Time for {{child}}'s development check. No check was logged in the last {PROMPT_WEEKS}; in the "
                   f"first year of corrected age Myodiary asks every {PROMPT_WEEKS}. Two questions:")
DEVELOPMENT_WHERE = ("Please answer them in the app's development check (yes, no or unsure), with any concerns you "
                     "have noticed.")
DEVELOPMENT_CLINICIAN = (f"Development check: none logged in the last {PROMPT_WEEKS}; Myodiary asks the caregivers for "
                         "one (new skills, lost skills).")


@dataclass(frozen=True)
class Recipient:
    user_id: str
    name: str
    email: str
    role: str  # "caregiver" or "clinician"


@dataclass(frozen=True)
class ReminderContext:
    kind: str  # "scheduled" | "follow_up_3m" | "follow_up_6m" | "worsening" | "red_flag"
    cadence: str  # "weekly" | "biweekly" | "monthly": the period compared is 1, 2 or 4 weeks
    recipient: Recipient
    report: TrendReport
    chart_png: bytes
    chart_alt: str
    app_url: str
    unsubscribe_url: str
    new_red_flags: tuple[str, ...] = ()
    development_prompt: bool = False  # ask for a development check (events.development_prompts)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    chart_cid: str  # without angle brackets


@dataclass(frozen=True)
class Period:
    weeks: int
    recent: float | None
    previous: float | None
    recent_nights: int
    previous_nights: int

    @property
    def label(self) -> str:
        return "the past week" if self.weeks == 1 else f"the past {self.weeks} weeks"

    @property
    def before(self) -> str:
        return "the week before" if self.weeks == 1 else f"the {self.weeks} weeks before"

    @property
    def recent_episodes(self) -> int:
        return 0 if self.recent is None else round(self.recent * self.recent_nights)

    @property
    def previous_episodes(self) -> int:
        return 0 if self.previous is None else round(self.previous * self.previous_nights)

    @cached_property
    def change(self) -> RateChange | None:
        """Has it changed (the trends' one rule)? None without watched nights in both periods."""
        if self.recent is None or self.previous is None:
            return None
        return compare_rates(self.recent_episodes, self.recent_nights, self.previous_episodes, self.previous_nights)

    @property
    def direction(self) -> str | None:
        """"down", "up" or "same", None without both numbers."""
        return None if self.change is None else self.change.direction

    @property
    def clear(self) -> bool:
        """A change beyond night-to-night chance: only then "fewer" or "more"."""
        return self.change is not None and self.change.clear


# ---- the numbers -------------------------------------------------------------------------------

def completed_weeks(report: TrendReport) -> list[WeekStats]:
    """Weeks of age whose last night is over (noon to noon); the week in progress is still being logged."""
    today = diary_day(report.generated_at, ZoneInfo(report.child.timezone))
    return [week for week in report.weekly if week.start + timedelta(days=7) <= today]


def period_rates(report: TrendReport, weeks: int) -> tuple[float | None, float | None, int, int]:
    """Episodes per watched night in the last `weeks` completed weeks and the `weeks` before (None: unwatched)."""
    done = completed_weeks(report)
    recent, recent_nights = pooled_rate(done[-weeks:])
    previous, previous_nights = pooled_rate(done[-2 * weeks:-weeks])
    return recent, previous, recent_nights, previous_nights


def chart_cid(chart_png: bytes) -> str:
    """A Content-ID from the chart's bytes: the same chart, the same id."""
    return f"trend-chart.{hashlib.sha256(chart_png).hexdigest()[:16]}@{MAIL_DOMAIN}"


# ---- rendering ---------------------------------------------------------------------------------

def render_reminder(context: ReminderContext) -> RenderedEmail:
    """The subject, plain text and HTML of one reminder; text and HTML carry the same facts."""
    clinician = context.recipient.role == "clinician"
    period = Period(CADENCE_WEEKS[context.cadence], *period_rates(context.report, CADENCE_WEEKS[context.cadence]))
    facts = _common_facts(context, period, clinician)
    facts |= _clinician_facts(context, period) if clinician else _caregiver_facts(context, period)
    text = ENVIRONMENT.get_template("reminders/reminder.txt").render(facts)
    html = ENVIRONMENT.get_template("reminders/reminder.html").render(facts)
    return RenderedEmail(facts["subject"], text, html, facts["chart_cid"])


def _common_facts(context: ReminderContext, period: Period, clinician: bool) -> dict:
    report = context.report
    return {
        "clinician": clinician, "child": report.child.name, "recipient": context.recipient.name,
        "follow_up": FOLLOW_UP_AGES.get(context.kind), "visit": FOLLOW_UP_VISITS.get(context.kind),
        "discuss": _discuss(context), "urgent": _urgent(report),
        "flags": _flags(report, context.new_red_flags, clinician),
        "development_prompt": context.development_prompt,
        "chart_cid": chart_cid(context.chart_png), "chart_alt": context.chart_alt,
        "dashboard_url": f"{context.app_url.rstrip('/')}/dashboard/children/{quote(report.child.id, safe='')}",
        "unsubscribe_url": context.unsubscribe_url, "cadence": CADENCE_FOOTER[context.cadence],
    }


def _caregiver_facts(context: ReminderContext, period: Period) -> dict:
    report = context.report
    return {
        "subject": _one_line(_caregiver_subject(context, period)), "age_line": _caregiver_age(report),
        "preterm": _shows_corrected(report), "period_sentence": _period_sentence(period),
        "verdict_label": verdict_label(report.verdict.code), "verdict_words": VERDICT_WORDS[report.verdict.code],
        "keep_logging": _keep_logging(report), "references": _reference_sentences(report),
        "flags_closing": URGENT_CAREGIVER_CLOSING.format(child=report.child.name) if _urgent(report)
        else DISCUSS_CLOSING, "urgent_lead": URGENT_CAREGIVER_LEAD.format(child=report.child.name),
        "development_ask": DEVELOPMENT_ASK.format(child=report.child.name), "development_where": DEVELOPMENT_WHERE,
        "development_questions": [question.format(child=report.child.name) for question in DEVELOPMENT_QUESTIONS],
        "not_a_diagnosis": NOT_A_DIAGNOSIS,
    }


def _clinician_facts(context: ReminderContext, period: Period) -> dict:
    report = context.report
    return {
        "subject": _one_line(_clinician_subject(context)), "condition": _condition(report),
        "age_line": _clinician_age(report), "summary": report.summary["clinician"],
        "rows": _clinician_rows(report, period), "flags_closing": REVIEW_CLOSING, "urgent_lead": URGENT_CLINICIAN_LEAD,
        "development_note": DEVELOPMENT_CLINICIAN, "not_a_diagnosis": CLINICIAN_NOTE,
    }


def _discuss(context: ReminderContext) -> bool:
    """Red flags open the email: a worsening or red-flag reminder, a worsening course, or an urgent flag."""
    return context.kind in DISCUSS_KINDS or context.report.verdict.code == "worsening" or _urgent(context.report)


def _urgent(report: TrendReport) -> bool:
    """The infantile-spasms pattern, new or not: every email opens with the product's most urgent words."""
    return any(flag.code in URGENT_FLAGS for flag in report.red_flags)


def _one_line(subject: str) -> str:
    return " ".join(subject.split())


# ---- subjects ----------------------------------------------------------------------------------

def _caregiver_subject(context: ReminderContext, period: Period) -> str:
    report, name = context.report, context.report.child.name
    if _urgent(report):
        return f"{name}: please contact your doctor soon"
    if _discuss(context):
        return f"{name}: something to discuss with your clinician"
    if context.kind in FOLLOW_UP_AGES:
        corrected = " (corrected)" if _shows_corrected(report) else ""
        return f"{name} is {FOLLOW_UP_AGES[context.kind]} old{corrected}: time for a follow-up"
    return f"{name} {CADENCE_SUBJECT[context.cadence]}: {_news(report.verdict.code, period)}"


def _news(verdict: str, period: Period) -> str:
    if verdict == "insufficient_data":
        return "a few more watched nights will show the trend"
    if verdict == "resolved":
        return "no jerks on the latest watched nights"
    if period.recent is None:
        return "no watched nights logged"
    if period.previous is None:
        return f"{formatting.rate(period.recent)} episodes of jerks a night"
    return _change_news(period)


def _change_news(period: Period) -> str:
    recent, previous = formatting.rate(period.recent), formatting.rate(period.previous)
    if not period.clear:
        return f"no clear change ({recent} a night; {previous} {period.before})"
    if period.recent == 0:
        return f"no jerks on watched nights (down from {previous} a night)"
    more = "fewer" if period.direction == "down" else "more"
    return f"{more} jerks ({recent} a night, {period.direction} from {previous})"


def _clinician_subject(context: ReminderContext) -> str:
    report, model = context.report, context.report.model
    head = f"{report.child.name} ({_condition(report)})"
    rate = ("no RR yet" if model is None
            else f"RR {formatting.ratio(model.rate_ratio_per_4_weeks)}/{t.RATE_RATIO_WEEKS} wk")
    verdict = f"{report.verdict.code}, {rate}"
    if _urgent(report):
        codes = [flag.code for flag in report.red_flags if flag.code in URGENT_FLAGS or flag.code in
                 context.new_red_flags]
        return f"{head}: please review soon ({', '.join(codes)}); {verdict}"
    if _discuss(context):
        codes = [flag.code for flag in report.red_flags if flag.code in context.new_red_flags]
        codes = codes or [flag.code for flag in report.red_flags]
        return f"{head}: to review ({', '.join(codes)}); {verdict}" if codes else f"{head}: to review; {verdict}"
    if context.kind in FOLLOW_UP_AGES:
        return f"{head}: {FOLLOW_UP_VISITS[context.kind]} follow-up (corrected age); {verdict}"
    return f"{head}: {verdict}"


def _condition(report: TrendReport) -> str:
    return CONDITION_CODES.get(report.child.condition, report.child.condition.replace("_", " "))


# ---- ages --------------------------------------------------------------------------------------

def _shows_corrected(report: TrendReport) -> bool:
    """Corrected age beside chronological for children born before 37 weeks, up to 2 years (CLINICAL.md)."""
    weeks = report.child.gestational_weeks
    return (weeks is not None and weeks < PRETERM_BEFORE_WEEKS and report.corrected_age_weeks_now is not None
            and report.age_weeks_now * 7 < CORRECTED_AGE_USED_UNTIL_DAYS)


def _words(age_weeks: float) -> str:
    return describe(round(age_weeks * 7)).display


def _caregiver_age(report: TrendReport) -> str:
    corrected = f" (corrected age {_words(report.corrected_age_weeks_now)})" if _shows_corrected(report) else ""
    return f"{report.child.name} is {_words(report.age_weeks_now)} old{corrected}."


def _clinician_age(report: TrendReport) -> str:
    corrected = f"; corrected age {_weeks(report.corrected_age_weeks_now)}" if _shows_corrected(report) else ""
    return f"Age {_weeks(report.age_weeks_now)}{corrected}."


def _weeks(age_weeks: float) -> str:
    if age_weeks < WEEKS_SHOWN_UNTIL:
        return f"{age_weeks:.1f} weeks"
    return f"{_words(age_weeks)} ({age_weeks:.1f} weeks)"


def _day(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


# ---- caregiver sentences -----------------------------------------------------------------------

def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def _on_nights(episodes: int, nights: int) -> str:
    return f"{_count(episodes, 'episode')} on {_count(nights, 'watched night')}"


def _period_sentence(period: Period) -> str:
    if period.recent is None:
        return _unwatched_sentence(period)
    sentence = f"In {period.label}: {_rate_words(period.recent, period.recent_episodes, period.recent_nights)}"
    if period.previous is None:
        return f"{sentence}. Nobody logged a watched night in {period.before}, so there is nothing to compare with."
    previous = _on_nights(period.previous_episodes, period.previous_nights)
    before = f"{formatting.rate(period.previous)} in {period.before} ({previous})"
    if period.recent == period.previous == 0:
        return f"{sentence}, and none in {period.before} ({_count(period.previous_nights, 'watched night')})."
    if period.direction == "same":
        return f"{sentence}, about the same as {before}."
    return f"{sentence}, {period.direction} from {before}." + ("" if period.clear else f" {NIGHTS_VARY}")


def _rate_words(rate: float, episodes: int, nights: int) -> str:
    if episodes == 0:
        return f"no episodes on {_count(nights, 'watched night')}"
    return f"{formatting.rate(rate)} episodes per watched night ({_on_nights(episodes, nights)})"


def _unwatched_sentence(period: Period) -> str:
    sentence = f"Nobody logged a watched night in {period.label}, so there is no number for it"
    if period.previous is None:
        return f"{sentence} or for {period.before}."
    previous = _rate_words(period.previous, period.previous_episodes, period.previous_nights)
    return f"{sentence}; in {period.before} there were {previous}."


def _keep_logging(report: TrendReport) -> str | None:
    if report.verdict.code != "insufficient_data":
        return None
    observed, episodes = report.totals["observed_weeks"], report.totals["episodes"]
    needed = ""
    if observed < t.MIN_OBSERVED_WEEKS:
        needed = (f" The trend needs {t.MIN_OBSERVED_WEEKS} weeks with at least {t.MIN_WATCHED_NIGHTS_PER_WEEK} "
                  f"watched nights each; {report.child.name}'s diary has {observed} so far.")
    elif episodes < t.MIN_EPISODES:
        needed = (f" So far {_count(episodes, 'episode')} were logged on watched nights; the trend is drawn from "
                  f"{t.MIN_EPISODES} or more.")
    return f"{KEEP_LOGGING}{needed} {MARK_WATCHED}"


def _corrected_now(report: TrendReport) -> float:
    """The age the reference points are read on: corrected when known (as build_report does)."""
    return report.age_weeks_now if report.corrected_age_weeks_now is None else report.corrected_age_weeks_now


def _reference_sentences(report: TrendReport) -> list[str]:
    now = _corrected_now(report)
    return [_reference_sentence(report.child.name, point, now) for point in report.reference_points if point.applies]


def _reference_sentence(name: str, point: ReferencePoint, corrected_now: float) -> str:
    sentence = (f"By {point.label} of corrected age, {point.share_resolved:.0%} of babies with benign neonatal "
                f"sleep myoclonus no longer have it.")
    if point.passed:
        return f"{sentence} {name} is past this age."
    days = max(round((point.corrected_age_weeks - corrected_now) * 7), 1)
    return f"{sentence} {name} reaches this age in about {describe(days).display}."


def _flags(report: TrendReport, new_codes: tuple[str, ...], clinician: bool) -> list[dict]:
    """Red flags, the urgent then the new ones first, with what they rest on (for clinicians, the evidence counted)."""
    zone = ZoneInfo(report.child.timezone)
    ordered = sorted(report.red_flags, key=lambda flag: (flag.code not in URGENT_FLAGS, flag.code not in new_codes))
    return [{"message": flag.message, "new": flag.code in new_codes,
             "detail": (f"{flag.code}, {_evidence(flag)} since " if clinician else "Since ")
             + _day(flag.since.astimezone(zone).date())} for flag in ordered]


def _evidence(flag: RedFlag) -> str:
    """What a flag rests on, counted by kind: "1 development check and 4 episodes on waking", "1 clinician note"."""
    if flag.code == "abnormal_eeg":
        return _count(len(flag.evidence), "clinician note")
    if flag.code not in DEVELOPMENT_FLAGS:
        return _count(len(flag.evidence), "episode")
    checks, episodes = flag.evidence_counts()
    counted = _count(checks, "development check")
    return counted if episodes == 0 else f"{counted} and {_count(episodes, 'episode')} on waking"


# ---- clinician numbers -------------------------------------------------------------------------

def _clinician_rows(report: TrendReport, period: Period) -> list[tuple[str, str]]:
    totals = report.totals
    return [
        ("Verdict reasons", " ".join(reason.rstrip(".") + "." for reason in report.verdict.reasons)),
        *_model_rows(report.model),
        (period.label.capitalize(), _period_numbers(period)),
        ("Diary", f"{_on_nights(totals['episodes'], totals['watched_nights'])}, {totals['observed_weeks']} observed "
                  f"weeks (at least {t.MIN_WATCHED_NIGHTS_PER_WEEK} watched nights)"),
        *_reference_rows(report),
    ]


def _model_rows(model) -> list[tuple[str, str]]:
    if model is None:
        return [("Model", "not fitted: too few watched weeks or no episodes")]
    return [
        (formatting.RATE_RATIO.capitalize(), f"{formatting.rate_ratio(model)}, p={formatting.p_value(model.p_value)}"),
        ("Model", f"{FAMILIES.get(model.family, model.family)}, dispersion {model.dispersion:.2f}, "
                  f"{model.weeks_used} weeks"),
        ("Kendall tau", _kendall(model)),
    ]


def _kendall(model) -> str:
    if model.kendall_tau is None:
        return (f"not computed: fewer than {t.MIN_KENDALL_WEEKS} weeks with at least "
                f"{t.MIN_WATCHED_NIGHTS_PER_WEEK} watched nights")
    return formatting.kendall(model, rising=True)


def _period_numbers(period: Period) -> str:
    recent = _numbers(period.recent, period.recent_episodes, period.recent_nights)
    return f"{recent}; {period.before}: {_numbers(period.previous, period.previous_episodes, period.previous_nights)}"


def _numbers(rate: float | None, episodes: int, nights: int) -> str:
    if rate is None:
        return "no watched nights"
    return f"{rate:.2f} per watched night ({_on_nights(episodes, nights)})"


def _reference_rows(report: TrendReport) -> list[tuple[str, str]]:
    now = _corrected_now(report)
    return [(formatting.reference_age(point), f"{formatting.resolved_share(point)} resolved; "
             + ("passed" if point.passed else f"in {point.corrected_age_weeks - now:.1f} weeks"))
            for point in report.reference_points if point.applies]

