"""Words for codes, and times in the child's zone, for the dashboard's templates: in the reader's language.

Every label is lazy (read in the language of the page that shows it); dates, times, durations and numbers are
Babel's for the reader's locale (backend.i18n), never strftime or ISO in words (a `<time datetime>` keeps ISO).
"""
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel import units as babel_units
from flask import g, request
from flask_babel import get_locale, gettext
from flask_wtf.csrf import CSRFError

from backend.accounts.devices import BROWSERS, SYSTEMS
from backend.children.ages import age_words
from backend.diary.vocabulary import ANSWER_WORDS, CONCERN_WORDS, TREATMENT_KIND_WORDS
from backend.i18n import current_locale, day, first_week_day, lazy_gettext, locales, number
from backend.reminders import when
from backend.trends.charts import chart_alt_text

VERDICTS = {"resolved": lazy_gettext("Resolved"), "resolving": lazy_gettext("Resolving"),
            "stable": lazy_gettext("Stable"), "worsening": lazy_gettext("Worsening"),
            "insufficient_data": lazy_gettext("Not enough data")}
CONDITIONS = {"bnsm": lazy_gettext("Benign neonatal sleep myoclonus"),
              "benign_myoclonus_of_infancy": lazy_gettext("Benign myoclonus of infancy"),
              "hypnic_jerks": lazy_gettext("Hypnic jerks"), "unspecified": lazy_gettext("Not yet specified")}
FLAGS = {"awake_episodes": lazy_gettext("Episodes while awake"),
         "not_stopping_on_waking": lazy_gettext("Not stopping on waking"),
         "warning_signs": lazy_gettext("Warning signs"), "long_episode": lazy_gettext("Episode over 30 minutes"),
         "persists_past_6_months": lazy_gettext("Past 6 months (corrected)"),
         "worsening": lazy_gettext("Rising trend"), "abnormal_eeg": lazy_gettext("Abnormal EEG"),
         "lost_skills": lazy_gettext("Lost skills"),
         "spasms_pattern": lazy_gettext("Waking clusters with lost or stalled development")}
VIDEO_STATUSES = {"uploading": lazy_gettext("Video uploading"), "processing": lazy_gettext("Video being processed"),
                  "ready": lazy_gettext("Video"), "rejected": lazy_gettext("Video not kept")}
# The diary's codes (backend/diary/vocabulary.py) as the page reads them.
SLEEP_STATES = {"asleep": lazy_gettext("asleep"), "falling_asleep": lazy_gettext("falling asleep"),
                # Translators: the child's state when an episode happened ("waking up")
                "waking": lazy_gettext("waking"), "awake": lazy_gettext("awake"),
                "unknown": lazy_gettext("unknown")}
STOPPED = {"yes": lazy_gettext("yes"), "no": lazy_gettext("no"), "not_tried": lazy_gettext("not tried")}
STOPPED_BREAKDOWN = {"yes": lazy_gettext("stopped"), "no": lazy_gettext("did not stop"),
                     "not_tried": lazy_gettext("waking not tried")}
SIGNS = {"eye_deviation": lazy_gettext("eye deviation"), "mouth_movements": lazy_gettext("mouth movements"),
         "breathing_pause": lazy_gettext("breathing pause"), "colour_change": lazy_gettext("colour change"),
         "crying": lazy_gettext("crying")}
TREATMENT_KINDS, ANSWERS, CONCERNS = TREATMENT_KIND_WORDS, ANSWER_WORDS, CONCERN_WORDS
EEG_RESULTS = {"normal": lazy_gettext("normal"), "benign_variant": lazy_gettext("benign variant"),
               "abnormal": lazy_gettext("abnormal"), "not_done": lazy_gettext("not done")}
AXES = {"chronological": lazy_gettext("chronological"), "corrected": lazy_gettext("corrected")}
ROLES = {"caregiver": lazy_gettext("caregiver"), "clinician": lazy_gettext("clinician")}
CHANGES = {"fewer": lazy_gettext("fewer"), "more": lazy_gettext("more"), "same": lazy_gettext("about the same")}
REMINDER_KINDS = {"scheduled": lazy_gettext("scheduled summary"), "follow_up_3m": lazy_gettext("3-month follow-up"),
                  "follow_up_6m": lazy_gettext("6-month follow-up"), "worsening": lazy_gettext("worsening"),
                  "red_flag": lazy_gettext("red flag")}
REMINDER_STATUSES = {"pending": lazy_gettext("waiting"), "sending": lazy_gettext("sending"),
                     "sent": lazy_gettext("sent"), "failed": lazy_gettext("failed"),
                     "skipped": lazy_gettext("skipped")}
# What a clinician's view in the access log was, by the endpoint kept there (its blueprint, or the page).
ACTIONS = {"dashboard.patients_list": lazy_gettext("Patient list (dashboard)"),
           "dashboard.patient_page": lazy_gettext("Patient page (dashboard)"),
           "dashboard.chart_svg": lazy_gettext("Chart (dashboard)"),
           "dashboard.export": lazy_gettext("Download of the diary (dashboard)"),
           "dashboard.video_content": lazy_gettext("Episode video (dashboard)"),
           "dashboard.video_poster": lazy_gettext("Episode video (dashboard)"),
           "dashboard.add_note": lazy_gettext("Clinician notes (dashboard)"),
           "dashboard.edit_note": lazy_gettext("Clinician notes (dashboard)"),
           "trends": lazy_gettext("Trends and reports (app)"), "diary": lazy_gettext("Diary entries (app)"),
           "sync": lazy_gettext("Diary on a phone (app)"), "children": lazy_gettext("The child's profile (app)"),
           "clinic": lazy_gettext("Clinician notes (app)"), "reminders": lazy_gettext("Reminder emails (app)"),
           "care_teams": lazy_gettext("Care team (app)"), "videos": lazy_gettext("Episode video (app)")}
NOTE_FIELDS = {"text": lazy_gettext("Note"), "eeg": lazy_gettext("EEG")}
# The error page's title and explanation by status (werkzeug's own words are English only).
ERRORS = {
    400: (lazy_gettext("Something in the request was wrong"),
          lazy_gettext("The page could not use what was sent. Please go back and try again.")),
    401: (lazy_gettext("Please sign in"), lazy_gettext("This page needs you to sign in first.")),
    403: (lazy_gettext("Not allowed"), lazy_gettext("Your account may not do this.")),
    404: (lazy_gettext("Not found"),
          lazy_gettext("This page does not exist, or it is not shared with your account.")),
    405: (lazy_gettext("Not possible this way"), lazy_gettext("This page cannot be opened this way.")),
    410: (lazy_gettext("No longer valid"), lazy_gettext("This link is no longer valid.")),
    413: (lazy_gettext("Too large"), lazy_gettext("What was sent is larger than the limit.")),
    422: (lazy_gettext("Not valid"), lazy_gettext("What was sent is not valid.")),
    429: (lazy_gettext("Too many attempts"), lazy_gettext("Please wait a little, then try again.")),
    500: (lazy_gettext("Something went wrong"),
          lazy_gettext("Something went wrong on our side. Please try again later.")),
}
FORM_EXPIRED = (lazy_gettext("The form has expired"),
                lazy_gettext("This form's security token (CSRF) is missing or out of date. Go back, reload the page "
                             "and send the form again."))


def words(code: str | None, table: dict | None = None) -> str:
    """The code's words from the table; an unknown code reads as itself, underscores as spaces.

    Rendered once per request and language: a list of 500 patients names a handful of verdicts and conditions
    thousands of times, and each rendering of a lazy message looks up the reader's catalog again."""
    if code is None:
        return ""
    found = (table or {}).get(code)
    if found is None:
        return code.replace("_", " ")
    cache = g.setdefault("dashboard_words", {})
    key = (id(found), str(get_locale()))
    if key not in cache:
        cache[key] = str(found)
    return cache[key]


def local_time(instant: datetime | None, zone: str) -> str:
    """'3 Dec 2026, 21:05', '3. Dez. 2026, 21:05': an instant in the child's zone, in the reader's words."""
    if instant is None:
        return ""
    moment, locale = instant.astimezone(ZoneInfo(zone)), current_locale()
    pattern = babel_dates.get_datetime_format("medium", locale=locale)
    return pattern.replace("{1}", babel_dates.format_skeleton("yMMMd", moment, locale=locale)).replace(
        "{0}", babel_dates.format_time(moment, "short", locale=locale))


def week_start(instant: datetime, zone: str) -> date:
    """The first day of the calendar week holding this instant in the child's zone, counted as the reader's locale
    counts weeks (CLDR: Monday in British English, Spanish and German; Sunday in American English)."""
    local = instant.astimezone(ZoneInfo(zone)).date()
    return local - timedelta(days=(local.weekday() - first_week_day()) % 7)


def local_day(instant: datetime | date | None, zone: str | None = None) -> str:
    """'3 December 2026', '3. Dezember 2026': the day of an instant in the child's zone (or a calendar day)."""
    if instant is None:
        return ""
    if isinstance(instant, datetime):
        instant = instant.astimezone(ZoneInfo(zone)).date() if zone else instant.date()
    return str(day(instant))


def utc_time(instant: datetime | None) -> str:
    """'3 Dec 2026, 21:05 UTC': an account's own instants (devices), in UTC."""
    return gettext("%(when)s UTC", when=local_time(instant, "UTC")) if instant else ""


def duration(seconds: int) -> str:
    """'45 secs', '3 mins, 5 secs' (en), '3 Min., 5 Sek.' (de): an episode's length in CLDR's short units."""
    locale = current_locale()
    if seconds < 120:
        return babel_units.format_unit(seconds, "duration-second", length="short", locale=locale)
    minutes = babel_units.format_unit(seconds // 60, "duration-minute", length="short", locale=locale)
    rest = babel_units.format_unit(seconds % 60, "duration-second", length="short", locale=locale)
    # Translators: an episode's length, minutes then seconds ("3 mins, 5 secs")
    return gettext("%(minutes)s, %(seconds)s", minutes=minutes, seconds=rest)


def rate(value: float) -> str:
    """Episodes per watched night in the reader's number format: '1.5', '1,5'."""
    return str(number(value, "0.0"))


def schedule_words(schedule: dict) -> str:
    """'Weekly, on Monday at 20:00 (Europe/Madrid)': when the child's reminder emails go out."""
    return when.schedule_words(schedule["cadence"], schedule["weekday"], schedule["local_time"], schedule["timezone"])


def action_words(action: str) -> str:
    """An access-log entry's endpoint as the family reads it: the page, or the part of the app."""
    return str(ACTIONS.get(action) or ACTIONS.get(action.split(".")[0]) or lazy_gettext("The diary's data"))


def device_words(token) -> str:
    """A signed-in device's name; the dashboard's own ('Dashboard (Firefox on Linux)') in the reader's words."""
    name = token.device_name or ""
    if token.kind != "dashboard":
        return name or gettext("App")
    browser = next((browser for _, browser in BROWSERS if browser in name), None)
    system = next((system for _, system in SYSTEMS if f"on {system})" in name or f"({system})" in name), None)
    if browser and system:
        return gettext("Dashboard (%(browser)s on %(system)s)", browser=browser, system=system)
    if browser or system:
        return gettext("Dashboard (%(browser)s)", browser=browser or system)
    return gettext("Dashboard")


def language_choices() -> list[dict]:
    """The app's languages, each named in its own language ('English', 'español', 'Deutsch'), for the switcher."""
    return [{"code": code, "name": Locale.parse(code).display_name, "tag": code.replace("_", "-")}
            for code in locales()]


def here() -> str:
    """Where the language switcher comes back to: this page, or for a page a form's POST showed, its GET page."""
    if request.method == "GET" or (request.url_rule is not None and "GET" in request.url_rule.methods):
        return request.full_path.rstrip("?") if request.method == "GET" else request.path
    return "/dashboard/account" if request.path.startswith("/dashboard/account") else "/dashboard/"


def error_words(error) -> tuple[str, str]:
    """The error page's title and explanation for an HTTP error, in the reader's language."""
    if isinstance(error, CSRFError):
        return FORM_EXPIRED
    fallback = ERRORS[500] if error.code >= 500 else ERRORS[400]
    return ERRORS.get(error.code, fallback)


def helpers() -> dict:
    return {"verdict_words": lambda code: words(code, VERDICTS),
            "condition_words": lambda code: words(code, CONDITIONS),
            "flag_words": lambda code: words(code, FLAGS),
            "video_status_words": lambda code: words(code, VIDEO_STATUSES), "words": words,
            "sleep_state_words": lambda code: words(code, SLEEP_STATES),
            "stopped_words": lambda code: words(code, STOPPED),
            "stopped_breakdown_words": lambda code: words(code, STOPPED_BREAKDOWN),
            "sign_words": lambda code: words(code, SIGNS), "eeg_words": lambda code: words(code, EEG_RESULTS),
            "axis_words": lambda code: words(code, AXES), "role_words": lambda code: words(code, ROLES),
            "change_words": lambda code: words(code, CHANGES),
            "reminder_kind_words": lambda code: words(code, REMINDER_KINDS),
            "reminder_status_words": lambda code: words(code, REMINDER_STATUSES),
            "concern_words": lambda code: words(code, CONCERNS),
            "answer_words": lambda code: words(code, ANSWERS),
            "treatment_kind_words": lambda code: words(code, TREATMENT_KINDS),
            "schedule_words": schedule_words, "action_words": action_words, "device_words": device_words,
            "local_time": local_time, "local_day": local_day, "week_start": week_start, "utc_time": utc_time,
            "duration": duration,
            "rate": rate, "number": number, "age_words": age_words,
            "chart_alt": chart_alt_text, "language_choices": language_choices, "here": here,
            "sleep_states": tuple(SLEEP_STATES), "stopped_values": tuple(STOPPED),
            "episode_signs": lambda episode: json.loads(episode.signs or "[]")}
