"""Every threshold the trend engine uses, named, with where it comes from.

Published figures come from ../shared/CLINICAL.md (sources cited there); the rest are product
choices, kept here so that changing one is a one-line, reviewed change.
"""
# --- product choices (CLINICAL.md "Is it resolving?": not published, ours) -------------------
MIN_WATCHED_NIGHTS_PER_WEEK = 3  # a week counts as observed with at least this many watched nights
MIN_OBSERVED_WEEKS = 4  # fewer observed weeks: insufficient_data
MIN_EPISODES = 10  # fewer episodes in all: insufficient_data
RESOLVED_QUIET_NIGHTS = 14  # this many consecutive watched nights without an episode: resolved
RATE_RATIO_WEEKS = 4  # the rate ratio is reported per 4 weeks of age
CONFIDENCE = 0.95
# CLINICAL.md calls a course resolving when the rate ratio's CI lies entirely below 1. On simulated
# stable children that rule says "resolving" for 3 in 100 (chance dips), which a family would
# read as a promise. So the CI must lie below 0.9 (a fall of at least 10% per 4 weeks, with
# confidence) and Kendall's tau must point the same way: 0 of 100 stable children, and 100 of 100
# children halving every 3 weeks (86 of 100 halving every 8 weeks) are then called resolving.
TREND_FALL_AT_LEAST = 0.1  # resolving: a fall of at least 10% per 4 weeks (worsening: the rise it undoes)
RESOLVING_CI_HIGH_BELOW = 1 - TREND_FALL_AT_LEAST
WORSENING_CI_LOW_ABOVE = 1 / RESOLVING_CI_HIGH_BELOW
MIN_KENDALL_WEEKS = 3  # Kendall's tau and Theil-Sen need this many weeks with enough watched nights
OVERDISPERSION_ABOVE = 1.5  # Pearson chi2/df above this: quasi-Poisson standard errors
RECENT_WEEKS = 3  # "last k weeks against the k before"
# Has it changed? (compare_rates: the trends' recent change, the caregiver summary, the reminder emails)
SAME_WITHIN = 0.1  # rates less than 10% apart are "about the same"
CLEAR_CHANGE_P = 0.05  # "fewer" or "more" only when a two-sample Poisson test puts the change beyond chance
DEFAULT_WEEKS = 104  # the trends window when ?weeks= is not given
LIST_WINDOW_WEEKS = 2  # the patient list compares the last 2 weeks with the 2 before
DIARY_DAY_STARTS_AT_HOUR = 12  # a night belongs to the day it began: noon to noon, local time

# --- published figures ------------------------------------------------------------------------
# BNSM: 64% resolved before 3 months, 95% before 6 months (Maurer et al., Pediatrics 2010;125:e919).
REFERENCE_POINTS = (("3 months", 13, 0.64), ("6 months", 26, 0.95))
BNSM_PERSISTENCE_DAYS = 183  # still present past 6 months of (corrected) age: review (ICSD criteria)
LONG_EPISODE_SECONDS = 30 * 60  # rarely over 30 minutes (Paro-Panjan 2008; Kaddurah & Holmes 2009)
WARNING_SIGNS = ("eye_deviation", "mouth_movements", "breathing_pause", "colour_change", "crying")
# Benign myoclonus of early infancy happens mostly awake (Caraballo 2009): awake is no red flag there.
AWAKE_EXPECTED_CONDITIONS = ("benign_myoclonus_of_infancy",)

# --- treatments (issue 20; CLINICAL.md "Video, treatments and development": product choices) -----------------
# A medicine's episodes per watched night in the diary days before its start against the days from it (the
# same two-sample test and SAME_WITHIN / CLEAR_CHANGE_P as the recent change). Two weeks: long enough for a few
# watched nights on each side, short enough that the course's own fall with age moves the rate little.
TREATMENT_WINDOW_DAYS = 14
# Fewer watched nights than this on either side: insufficient_data. Half the window, so that a family that
# watches every other night still gets a comparison, and a handful of nights never reads as a change.
MIN_TREATMENT_WATCHED_NIGHTS = 7
