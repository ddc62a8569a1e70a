"""Allowed values and limits of diary entries (../shared/SYNC_SCHEMA.md)."""
from datetime import timedelta

from backend.i18n import lazy_gettext

SLEEP_STATES = ("asleep", "falling_asleep", "waking", "awake", "unknown")
STOPPED_WHEN_WOKEN = ("yes", "no", "not_tried")
SIDES = ("left", "right", "both", "unknown")
BODY_PARTS = ("arms", "legs", "face", "trunk", "whole_body")
SIGNS = ("eye_deviation", "mouth_movements", "breathing_pause", "colour_change", "crying")
TRIGGERS = ("fatigue", "stress", "sleep_deprivation", "illness", "rocking", "noise", "feeding", "other")
SLEEP_KINDS = ("night", "nap")
TREATMENT_KINDS = ("antiseizure_medication", "other_medication", "supplement", "sleep_hygiene", "other")
ANSWERS = ("yes", "no", "unsure")
CONCERNS = ("less_alert", "less_eye_contact", "less_smiling", "floppy", "stiff", "feeding_difficulty", "other")

# Words for these codes in the reader's language, shared by the dashboard and the exports (the PDF; FHIR's displays
# read them in English).
TREATMENT_KIND_WORDS = {"antiseizure_medication": lazy_gettext("Anti-seizure medicine"),
                        "other_medication": lazy_gettext("Other medicine"), "supplement": lazy_gettext("Supplement"),
                        "sleep_hygiene": lazy_gettext("Sleep routine"),
                        # Translators: a kind of treatment that is none of the others
                        "other": lazy_gettext("Other")}
# Translators: answers to "New skills?" and "Lost skills?" at a development check
ANSWER_WORDS = {"yes": lazy_gettext("yes"), "no": lazy_gettext("no"), "unsure": lazy_gettext("not sure")}
CONCERN_WORDS = {"less_alert": lazy_gettext("less alert"), "less_eye_contact": lazy_gettext("less eye contact"),
                 "less_smiling": lazy_gettext("smiles less"), "floppy": lazy_gettext("floppy (low muscle tone)"),
                 "stiff": lazy_gettext("stiff"), "feeding_difficulty": lazy_gettext("feeding difficulties"),
                 "other": lazy_gettext("another concern (see notes)")}

MAX_EPISODE_SECONDS = 21600
MAX_JERK_COUNT = 100_000
MAX_NOTES = 2000
MAX_VIDEO_REF = 500
MAX_TREATMENT_NAME = 120
MAX_DOSE = 120
MAX_SLEEP_SESSION = timedelta(hours=24)
# Phones' clocks run a little ahead; beyond this an instant is "in the future".
CLOCK_SKEW = timedelta(minutes=10)
