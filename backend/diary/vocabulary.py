"""Allowed values and limits of diary entries (../shared/SYNC_SCHEMA.md)."""
from datetime import timedelta

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

# Words for these codes, shared by the dashboard and the exports (PDF, FHIR displays).
TREATMENT_KIND_WORDS = {"antiseizure_medication": "Anti-seizure medicine", "other_medication": "Other medicine",
                        "supplement": "Supplement", "sleep_hygiene": "Sleep routine", "other": "Other"}
ANSWER_WORDS = {"yes": "yes", "no": "no", "unsure": "not sure"}
CONCERN_WORDS = {"less_alert": "less alert", "less_eye_contact": "less eye contact", "less_smiling": "smiles less",
                 "floppy": "floppy (low muscle tone)", "stiff": "stiff", "feeding_difficulty": "feeding difficulties",
                 "other": "another concern (see notes)"}

MAX_EPISODE_SECONDS = 21600
MAX_JERK_COUNT = 100_000
MAX_NOTES = 2000
MAX_VIDEO_REF = 500
MAX_TREATMENT_NAME = 120
MAX_DOSE = 120
MAX_SLEEP_SESSION = timedelta(hours=24)
# Phones' clocks run a little ahead; beyond this an instant is "in the future".
CLOCK_SKEW = timedelta(minutes=10)
