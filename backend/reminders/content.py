"""What the follow-up reminder emails say (templates/reminders/); message.py builds the MIME message that carries them.

Families are told the jerks fade with age; each email shows whether they do and when to see the
clinician, clinicians get the numbers. Never a diagnosis, and every email says so.

Each email is written in its recipient's language (issue 22): `render_reminder` renders inside
`force_locale(recipient.locale)`, every sentence one message of the catalogs with its numbers, dates and
durations formatted by Babel, and the trends' lazy words rendered (str) there too, so that nothing lazy, which
Jinja would take for safe markup, reaches the templates.
"""
import hashlib
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel import units as babel_units
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from backend.children.ages import (
    CORRECTED_AGE_USED_UNTIL_DAYS,
    DAYS_PER_MONTH,
    PRETERM_BEFORE_WEEKS,
    WEEKS_SHOWN_UNTIL,
    describe,
)
from backend.i18n import DEFAULT_LOCALE, current_locale, day, duration, language_tag, lazy_gettext, number, percent
from backend.mail.headers import MAIL_DOMAIN
from backend.reminders.events import DEVELOPMENT_PROMPT_DAYS
from backend.reminders.when import footer_words
from backend.trends import formatting
from backend.trends import thresholds as t
from backend.trends.charts import verdict_label
from backend.trends.engine import RateChange, WeekStats, compare_rates, diary_day, pooled_rate
from backend.trends.red_flags import SPASMS_MIN_WAKING_EPISODES, SPASMS_WINDOW_DAYS, RedFlag
from backend.trends.report import ReferencePoint, TrendReport
from backend.trends.summaries import NOT_A_DIAGNOSIS, URGENT_FLAGS, VERDICT_WORDS

TEMPLATES = Path(__file__).parent / "templates"
ENVIRONMENT = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                          extensions=["jinja2.ext.i18n"])
ENVIRONMENT.install_gettext_callables(_, ngettext, newstyle=True)  # Flask-Babel's: the current (forced) locale

CADENCE_WEEKS = {"weekly": 1, "biweekly": 2, "monthly": 4}
CADENCE_SUBJECT = {  # the caregiver's subject of a scheduled email
    "weekly": lambda **words: _("%(child)s this week: %(news)s", **words),
    "biweekly": lambda **words: _("%(child)s these 2 weeks: %(news)s", **words),
    "monthly": lambda **words: _("%(child)s this month: %(news)s", **words),
}
FOLLOW_UP_MONTHS = {"follow_up_3m": 3, "follow_up_6m": 6}
FOLLOW_UP_DUE = {  # the clinician's note
    "follow_up_3m": lambda child: _("%(child)s reaches 3 months of corrected age: the 3-month follow-up is due.",
                                    child=child),
    "follow_up_6m": lambda child: _("%(child)s reaches 6 months of corrected age: the 6-month follow-up is due.",
                                    child=child),
}
FOLLOW_UP_SUBJECT = {  # the clinician's subject
    "follow_up_3m": lambda **words: _("%(child)s (%(condition)s): 3-month follow-up (corrected age); %(status)s",
                                      **words),
    "follow_up_6m": lambda **words: _("%(child)s (%(condition)s): 6-month follow-up (corrected age); %(status)s",
                                      **words),
}
DISCUSS_KINDS = ("worsening", "red_flag")
# Translators: the short names of the conditions in a clinician's email (BNSM: benign neonatal sleep myoclonus,
# BMEI: benign myoclonus of early infancy)
CONDITION_CODES = {"bnsm": lazy_gettext("BNSM"), "benign_myoclonus_of_infancy": lazy_gettext("BMEI"),
                   "hypnic_jerks": lazy_gettext("hypnic jerks"), "unspecified": lazy_gettext("unspecified")}
FAMILIES = {"poisson": "Poisson", "quasi_poisson": "quasi-Poisson"}  # the models' names, the same in every language
DEVELOPMENT_FLAGS = ("spasms_pattern", "lost_skills")  # evidence: development check ids, then episode ids
PROMPT_WEEKS = DEVELOPMENT_PROMPT_DAYS // 7


@dataclass(frozen=True)
class Recipient:
    user_id: str
    name: str
    email: str
    role: str  # "caregiver" or "clinician"
    locale: str = DEFAULT_LOCALE  # the language the email is written in (User.locale)


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
    schedule: tuple[str, str, str] = ("sunday", "19:00", "UTC")  # weekday, local time, zone: the footer's "when"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    chart_cid: str  # without angle brackets
    language: str = DEFAULT_LOCALE  # BCP 47 tag: Content-Language and <html lang>


@dataclass(frozen=True)
class Period:
    weeks: int
    recent: float | None
    previous: float | None
    recent_nights: int
    previous_nights: int

    @property
    def label(self) -> str:
        """'The past week', 'The past 4 weeks': a clinician's row."""
        return ngettext("The past week", "The past %(num)s weeks", self.weeks)

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
    """The subject, plain text and HTML of one reminder in its recipient's language; text and HTML carry the same
    facts."""
    with force_locale(context.recipient.locale):
        clinician = context.recipient.role == "clinician"
        period = Period(CADENCE_WEEKS[context.cadence], *period_rates(context.report, CADENCE_WEEKS[context.cadence]))
        facts = _common_facts(context, clinician)
        facts |= _clinician_facts(context, period) if clinician else _caregiver_facts(context, period)
        text = ENVIRONMENT.get_template("reminders/reminder.txt").render(facts)
        html = ENVIRONMENT.get_template("reminders/reminder.html").render(facts)
        return RenderedEmail(facts["subject"], text, html, facts["chart_cid"], facts["language"])


def _common_facts(context: ReminderContext, clinician: bool) -> dict:
    report = context.report
    return {
        "clinician": clinician, "child": report.child.name, "recipient": context.recipient.name,
        "language": language_tag(), "follow_up": context.kind in FOLLOW_UP_MONTHS,
        "discuss": _discuss(context), "urgent": _urgent(report),
        "flags": _flags(report, context.new_red_flags, clinician),
        "development_prompt": context.development_prompt,
        "chart_cid": chart_cid(context.chart_png), "chart_alt": str(context.chart_alt),
        "dashboard_url": f"{context.app_url.rstrip('/')}/dashboard/children/{quote(report.child.id, safe='')}",
        "unsubscribe_url": context.unsubscribe_url,
        "footer": footer_words(report.child.name, context.cadence, *context.schedule),
    }


def _caregiver_facts(context: ReminderContext, period: Period) -> dict:
    report, name = context.report, context.report.child.name
    return {
        "subject": _one_line(_caregiver_subject(context, period)), "age_line": _caregiver_age(report),
        **_follow_up_words(context.kind, report),
        "period_sentence": _period_sentence(period),
        "verdict_label": str(verdict_label(report.verdict.code)),
        "verdict_words": str(VERDICT_WORDS[report.verdict.code]),
        "keep_logging": _keep_logging(report), "references": _reference_sentences(report),
        "flags_closing": _("Please show your doctor %(child)s's diary; the link is below.", child=name)
        if _urgent(report) else _("Please discuss this with your clinician."),
        "urgent_lead": _("Please contact your doctor soon about %(child)s. This is what the diary shows:", child=name),
        "development_ask": " ".join((
            _("Time for %(child)s's development check.", child=name),
            _("No check was logged in the last %(weeks)s; in the first year of corrected age Myodiary asks every "
              "%(weeks)s.", weeks=duration(PROMPT_WEEKS, "week")),
            _("Two questions:"))),
        "development_where": _("Please answer them in the app's development check (yes, no or unsure), with any "
                               "concerns you have noticed."),
        "development_questions": [
            _("Has %(child)s learned anything new since the last check (a smile, holding the head up, reaching, "
              "babbling...)?", child=name),
            _("Has %(child)s stopped doing anything they could do before?", child=name)],
        "not_a_diagnosis": str(NOT_A_DIAGNOSIS),
    }


def _clinician_facts(context: ReminderContext, period: Period) -> dict:
    report = context.report
    return {
        "subject": _one_line(_clinician_subject(context)), "condition": _condition(report),
        "age_line": _clinician_age(report), "summary": str(report.summary["clinician"]),
        "follow_up_due": FOLLOW_UP_DUE[context.kind](report.child.name) if context.kind in FOLLOW_UP_DUE else None,
        "rows": _clinician_rows(report, period), "flags_closing": _("Please discuss these with the family."),
        "urgent_lead": " ".join((
            _("Please review soon: lost skills or no new skills at a development check, with %(episodes)s or more "
              "episodes on waking within %(days)s of it (the infantile-spasms pattern).",
              episodes=number(SPASMS_MIN_WAKING_EPISODES), days=duration(SPASMS_WINDOW_DAYS, "day")),
            _("The family was asked to contact their doctor soon."))),
        "development_note": _("Development check: none logged in the last %(weeks)s; Myodiary asks the caregivers for "
                              "one (new skills, lost skills).", weeks=duration(PROMPT_WEEKS, "week")),
        "not_a_diagnosis": _("These figures summarise what the caregivers recorded in Myodiary; they are not a "
                             "diagnosis."),
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
        return _("%(child)s: please contact your doctor soon", child=name)
    if _discuss(context):
        return _("%(child)s: something to discuss with your clinician", child=name)
    if context.kind in FOLLOW_UP_MONTHS:
        months = FOLLOW_UP_MONTHS[context.kind]
        if _shows_corrected(report):
            return ngettext("%(child)s is %(num)s month old (corrected): time for a follow-up",
                            "%(child)s is %(num)s months old (corrected): time for a follow-up", months, child=name)
        return ngettext("%(child)s is %(num)s month old: time for a follow-up",
                        "%(child)s is %(num)s months old: time for a follow-up", months, child=name)
    return CADENCE_SUBJECT[context.cadence](child=name, news=_news(report.verdict.code, period))


def _news(verdict: str, period: Period) -> str:
    if verdict == "insufficient_data":
        return _("a few more watched nights will show the trend")
    if verdict == "resolved":
        return _("no jerks on the latest watched nights")
    if period.recent is None:
        return _("no watched nights logged")
    if period.previous is None:
        return _("%(rate)s episodes of jerks a night", rate=formatting.rate(period.recent))
    return _change_news(period)


def _change_news(period: Period) -> str:
    recent, previous = formatting.rate(period.recent), formatting.rate(period.previous)
    if not period.clear:
        return ngettext("no clear change (%(recent)s a night; %(previous)s the week before)",
                        "no clear change (%(recent)s a night; %(previous)s the %(num)s weeks before)",
                        period.weeks, recent=recent, previous=previous)
    if period.recent == 0:
        return _("no jerks on watched nights (down from %(previous)s a night)", previous=previous)
    if period.direction == "down":
        return _("fewer jerks (%(recent)s a night, down from %(previous)s)", recent=recent, previous=previous)
    return _("more jerks (%(recent)s a night, up from %(previous)s)", recent=recent, previous=previous)


def _clinician_subject(context: ReminderContext) -> str:
    report = context.report
    words = {"child": report.child.name, "condition": _condition(report), "status": _status(report)}
    if _urgent(report):
        codes = [flag.code for flag in report.red_flags if flag.code in URGENT_FLAGS or flag.code in
                 context.new_red_flags]
        return _("%(child)s (%(condition)s): please review soon (%(codes)s); %(status)s", codes=", ".join(codes),
                 **words)
    if _discuss(context):
        codes = [flag.code for flag in report.red_flags if flag.code in context.new_red_flags]
        codes = codes or [flag.code for flag in report.red_flags]
        if codes:
            return _("%(child)s (%(condition)s): to review (%(codes)s); %(status)s", codes=", ".join(codes), **words)
        return _("%(child)s (%(condition)s): to review; %(status)s", **words)
    if context.kind in FOLLOW_UP_SUBJECT:
        return FOLLOW_UP_SUBJECT[context.kind](**words)
    return _("%(child)s (%(condition)s): %(status)s", **words)


def _status(report: TrendReport) -> str:
    """'resolving, RR 0.40/4 wk': the verdict and the rate ratio, short, for a clinician's subject."""
    verdict, model = verdict_label(report.verdict.code), report.model
    if model is None:
        return _("%(verdict)s, no RR yet", verdict=verdict)
    # Translators: RR is the rate ratio, wk the abbreviation of weeks
    return _("%(verdict)s, RR %(ratio)s/%(weeks)s wk", verdict=verdict,
             ratio=formatting.ratio(model.rate_ratio_per_4_weeks), weeks=number(t.RATE_RATIO_WEEKS))


def _condition(report: TrendReport) -> str:
    condition = report.child.condition
    return str(CONDITION_CODES[condition]) if condition in CONDITION_CODES else condition.replace("_", " ")


# ---- ages --------------------------------------------------------------------------------------

def _shows_corrected(report: TrendReport) -> bool:
    """Corrected age beside chronological for children born before 37 weeks, up to 2 years (CLINICAL.md)."""
    weeks = report.child.gestational_weeks
    return (weeks is not None and weeks < PRETERM_BEFORE_WEEKS and report.corrected_age_weeks_now is not None
            and report.age_weeks_now * 7 < CORRECTED_AGE_USED_UNTIL_DAYS)


def _words(age_weeks: float) -> str:
    return str(describe(round(age_weeks * 7)).display)


def _caregiver_age(report: TrendReport) -> str:
    name, age = report.child.name, _words(report.age_weeks_now)
    if _shows_corrected(report):
        return _("%(child)s is %(age)s old (corrected age %(corrected)s).", child=name, age=age,
                 corrected=_words(report.corrected_age_weeks_now))
    return _("%(child)s is %(age)s old.", child=name, age=age)


def _follow_up_words(kind: str, report: TrendReport) -> dict:
    """A caregiver's follow-up prompt: its bold lead and the rest of the sentence."""
    if kind not in FOLLOW_UP_MONTHS:
        return {"follow_up_lead": None, "follow_up_rest": None}
    name, months = report.child.name, FOLLOW_UP_MONTHS[kind]
    lead = (ngettext("%(child)s reaches %(num)s month of corrected age:",
                     "%(child)s reaches %(num)s months of corrected age:", months, child=name)
            if _shows_corrected(report) else
            ngettext("%(child)s is %(num)s month old:", "%(child)s is %(num)s months old:", months, child=name))
    # Translators: follows "Mila is 3 months old:" in bold
    rest = " ".join((_("a good time to book a follow-up with your clinician, or to keep the one you already have."),
                     _("The summary below shows the weeks at a glance; please bring it along.")))
    return {"follow_up_lead": lead, "follow_up_rest": rest}


def _clinician_age(report: TrendReport) -> str:
    if _shows_corrected(report):
        return _("Age %(age)s; corrected age %(corrected)s.", age=_weeks(report.age_weeks_now),
                 corrected=_weeks(report.corrected_age_weeks_now))
    return _("Age %(age)s.", age=_weeks(report.age_weeks_now))


def _weeks(age_weeks: float) -> str:
    if age_weeks < WEEKS_SHOWN_UNTIL:
        return _decimal_weeks(age_weeks)
    return f"{_words(age_weeks)} ({_decimal_weeks(age_weeks)})"


def _decimal_weeks(weeks: float) -> str:
    """'14.4 weeks', '14,4 Wochen': weeks with one decimal, in the reader's words."""
    return babel_units.format_unit(round(weeks, 1), "duration-week", length="long", format="#,##0.0",
                                   locale=current_locale())


# ---- caregiver sentences -----------------------------------------------------------------------

def _episodes(count: int) -> str:
    return ngettext("%(num)s episode", "%(num)s episodes", count)


def _watched_nights(count: int) -> str:
    return ngettext("%(num)s watched night", "%(num)s watched nights", count)


def _on_nights(episodes: int, nights: int) -> str:
    # Translators: "3 episodes on 5 watched nights": %(episodes)s is "1 episode", "3 episodes"
    return ngettext("%(episodes)s on %(num)s watched night", "%(episodes)s on %(num)s watched nights", nights,
                    episodes=_episodes(episodes))


def _period_sentence(period: Period) -> str:
    if period.recent is None:
        return _unwatched_sentence(period)
    words = {"recent": _rate_words(period.recent, period.recent_episodes, period.recent_nights)}
    if period.previous is None:
        return ngettext("In the past week: %(recent)s. Nobody logged a watched night in the week before, so there is "
                        "nothing to compare with.",
                        "In the past %(num)s weeks: %(recent)s. Nobody logged a watched night in the %(num)s weeks "
                        "before, so there is nothing to compare with.", period.weeks, **words)
    if period.recent == period.previous == 0:
        return ngettext("In the past week: %(recent)s, and none in the week before (%(nights)s).",
                        "In the past %(num)s weeks: %(recent)s, and none in the %(num)s weeks before (%(nights)s).",
                        period.weeks, nights=_watched_nights(period.previous_nights), **words)
    words |= {"previous": formatting.rate(period.previous),
              "counts": _on_nights(period.previous_episodes, period.previous_nights)}
    if period.direction == "same":
        return ngettext("In the past week: %(recent)s, about the same as %(previous)s in the week before "
                        "(%(counts)s).",
                        "In the past %(num)s weeks: %(recent)s, about the same as %(previous)s in the %(num)s weeks "
                        "before (%(counts)s).", period.weeks, **words)
    if period.direction == "down":
        sentence = ngettext("In the past week: %(recent)s, down from %(previous)s in the week before (%(counts)s).",
                            "In the past %(num)s weeks: %(recent)s, down from %(previous)s in the %(num)s weeks "
                            "before (%(counts)s).", period.weeks, **words)
    else:
        sentence = ngettext("In the past week: %(recent)s, up from %(previous)s in the week before (%(counts)s).",
                            "In the past %(num)s weeks: %(recent)s, up from %(previous)s in the %(num)s weeks "
                            "before (%(counts)s).", period.weeks, **words)
    if period.clear:
        return sentence
    return " ".join((sentence, _("Nights vary, so a change this size is not a trend on its own.")))


def _rate_words(rate: float, episodes: int, nights: int) -> str:
    if episodes == 0:
        return ngettext("no episodes on %(num)s watched night", "no episodes on %(num)s watched nights", nights)
    return _("%(rate)s episodes per watched night (%(counts)s)", rate=formatting.rate(rate),
             counts=_on_nights(episodes, nights))


def _unwatched_sentence(period: Period) -> str:
    if period.previous is None:
        return ngettext("Nobody logged a watched night in the past week, so there is no number for it or for the week "
                        "before.",
                        "Nobody logged a watched night in the past %(num)s weeks, so there is no number for it or for "
                        "the %(num)s weeks before.", period.weeks)
    previous = _rate_words(period.previous, period.previous_episodes, period.previous_nights)
    return ngettext("Nobody logged a watched night in the past week, so there is no number for it; in the week before "
                    "there were %(previous)s.",
                    "Nobody logged a watched night in the past %(num)s weeks, so there is no number for it; in the "
                    "%(num)s weeks before there were %(previous)s.", period.weeks, previous=previous)


def _keep_logging(report: TrendReport) -> str | None:
    if report.verdict.code != "insufficient_data":
        return None
    observed, episodes = report.totals["observed_weeks"], report.totals["episodes"]
    sentences = [_("A few more watched nights each week will show the trend.")]
    if observed < t.MIN_OBSERVED_WEEKS:
        sentences.append(ngettext(
            "The trend needs %(weeks)s with at least %(num)s watched night each; %(child)s's diary has %(observed)s "
            "so far.",
            "The trend needs %(weeks)s with at least %(num)s watched nights each; %(child)s's diary has %(observed)s "
            "so far.", t.MIN_WATCHED_NIGHTS_PER_WEEK, weeks=duration(t.MIN_OBSERVED_WEEKS, "week"),
            child=report.child.name, observed=number(observed)))
    elif episodes < t.MIN_EPISODES:
        sentences.append(ngettext("So far %(num)s episode was logged on watched nights; the trend is drawn from "
                                  "%(least)s or more.",
                                  "So far %(num)s episodes were logged on watched nights; the trend is drawn from "
                                  "%(least)s or more.", episodes, least=number(t.MIN_EPISODES)))
    sentences.append(_("When someone watches a night, please mark it as watched in the app, even when there are no "
                       "jerks: a quiet night counts too."))
    return " ".join(sentences)


def _corrected_now(report: TrendReport) -> float:
    """The age the reference points are read on: corrected when known (as build_report does)."""
    return report.age_weeks_now if report.corrected_age_weeks_now is None else report.corrected_age_weeks_now


def _reference_months(point: ReferencePoint) -> int:
    """3, 6: a reference point's corrected age in months (its label is English)."""
    return round(point.corrected_age_weeks * 7 / DAYS_PER_MONTH)


def _reference_sentences(report: TrendReport) -> list[str]:
    now = _corrected_now(report)
    return [_reference_sentence(report.child.name, point, now) for point in report.reference_points if point.applies]


def _reference_sentence(name: str, point: ReferencePoint, corrected_now: float) -> str:
    sentence = ngettext("By %(num)s month of corrected age, %(share)s of babies with benign neonatal sleep myoclonus "
                        "no longer have it.",
                        "By %(num)s months of corrected age, %(share)s of babies with benign neonatal sleep myoclonus "
                        "no longer have it.", _reference_months(point), share=percent(point.share_resolved))
    if point.passed:
        return " ".join((sentence, _("%(child)s is past this age.", child=name)))
    days = max(round((point.corrected_age_weeks - corrected_now) * 7), 1)
    return " ".join((sentence, _("%(child)s reaches this age in about %(time)s.", child=name,
                                 time=describe(days).display)))


def _flags(report: TrendReport, new_codes: tuple[str, ...], clinician: bool) -> list[dict]:
    """Red flags, the urgent then the new ones first, with what they rest on (for clinicians, the evidence counted)."""
    zone = ZoneInfo(report.child.timezone)
    ordered = sorted(report.red_flags, key=lambda flag: (flag.code not in URGENT_FLAGS, flag.code not in new_codes))
    return [{"message": str(flag.message), "new": flag.code in new_codes,
             "detail": _flag_detail(flag, day(flag.since.astimezone(zone).date()), clinician)} for flag in ordered]


def _flag_detail(flag: RedFlag, since, clinician: bool) -> str:
    if clinician:
        # Translators: "awake_episodes, 4 episodes since 9 June 2026"; the first word is the flag's code
        return _("%(code)s, %(evidence)s since %(day)s", code=flag.code, evidence=_evidence(flag), day=since)
    return _("Since %(day)s", day=since)


def _evidence(flag: RedFlag) -> str:
    """What a flag rests on, counted by kind: "1 development check and 4 episodes on waking", "1 clinician note"."""
    if flag.code == "abnormal_eeg":
        return ngettext("%(num)s clinician note", "%(num)s clinician notes", len(flag.evidence))
    if flag.code not in DEVELOPMENT_FLAGS:
        return _episodes(len(flag.evidence))
    checks, episodes = flag.evidence_counts()
    counted = ngettext("%(num)s development check", "%(num)s development checks", checks)
    if episodes == 0:
        return counted
    return ngettext("%(checks)s and %(num)s episode on waking", "%(checks)s and %(num)s episodes on waking", episodes,
                    checks=counted)


# ---- clinician numbers -------------------------------------------------------------------------

def _clinician_rows(report: TrendReport, period: Period) -> list[tuple[str, str]]:
    totals = report.totals
    return [
        (_("Verdict reasons"), " ".join(str(reason).rstrip(".") + "." for reason in report.verdict.reasons)),
        *_model_rows(report.model),
        (period.label, _period_numbers(period)),
        (_("Diary"), ngettext("%(counts)s, %(num)s observed week (at least %(nights)s)",
                              "%(counts)s, %(num)s observed weeks (at least %(nights)s)", totals["observed_weeks"],
                              counts=_on_nights(totals["episodes"], totals["watched_nights"]),
                              nights=_watched_nights(t.MIN_WATCHED_NIGHTS_PER_WEEK))),
        *_reference_rows(report),
    ]


def _model_rows(model) -> list[tuple[str, str]]:
    if model is None:
        return [(_("Model"), _("not fitted: too few watched weeks or no episodes"))]
    family = FAMILIES.get(model.family, model.family)
    return [
        (_capitalised(str(formatting.RATE_RATIO)),
         f"{formatting.rate_ratio(model)}, p={formatting.p_value(model.p_value)}"),
        (_("Model"), ngettext("%(family)s, dispersion %(dispersion)s, %(num)s week",
                              "%(family)s, dispersion %(dispersion)s, %(num)s weeks", model.weeks_used,
                              family=family, dispersion=number(model.dispersion, "0.00"))),
        (_("Kendall tau"), _kendall(model)),
    ]


def _capitalised(words: str) -> str:
    """The first letter upper case, the others as they are (German nouns keep theirs)."""
    return words[:1].upper() + words[1:]


def _kendall(model) -> str:
    if model.kendall_tau is None:
        return ngettext("not computed: fewer than %(weeks)s with at least %(num)s watched night",
                        "not computed: fewer than %(weeks)s with at least %(num)s watched nights",
                        t.MIN_WATCHED_NIGHTS_PER_WEEK, weeks=duration(t.MIN_KENDALL_WEEKS, "week"))
    return str(formatting.kendall(model, rising=True))


def _period_numbers(period: Period) -> str:
    return ngettext("%(recent)s; the week before: %(previous)s", "%(recent)s; the %(num)s weeks before: %(previous)s",
                    period.weeks, recent=_numbers(period.recent, period.recent_episodes, period.recent_nights),
                    previous=_numbers(period.previous, period.previous_episodes, period.previous_nights))


def _numbers(rate: float | None, episodes: int, nights: int) -> str:
    if rate is None:
        return _("no watched nights")
    return _("%(rate)s per watched night (%(counts)s)", rate=number(rate, "0.00"),
             counts=_on_nights(episodes, nights))


def _reference_rows(report: TrendReport) -> list[tuple[str, str]]:
    now = _corrected_now(report)
    return [(str(formatting.reference_age(point)), _reference_row(point, now))
            for point in report.reference_points if point.applies]


def _reference_row(point: ReferencePoint, corrected_now: float) -> str:
    share = formatting.resolved_share(point)
    if point.passed:
        # Translators: "64% of BNSM resolved; passed" (the child is past that age)
        return _("%(share)s resolved; passed", share=share)
    return _("%(share)s resolved; in %(weeks)s", share=share,
             weeks=_decimal_weeks(point.corrected_age_weeks - corrected_now))
