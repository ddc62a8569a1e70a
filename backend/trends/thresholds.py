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
CONFIDENCE = 0.95  # the reported interval of the rate ratio (two-sided, Student t on the residual df)
# The verdict's bounds are one-sided and differ on purpose (docs/verdicts.md: a simulated cohort, 1,000 children a
# course). "resolving" is read by a family as a promise, so a false one must not happen: the upper bound of the
# rate ratio at RESOLVING_CONFIDENCE must lie below 1 - TREND_FALL_AT_LEAST (a fall of at least 10% per 4 weeks).
# Of 8,000 simulated children whose course does not fall, a 97.5% bound called 27 resolving, 99.5% still 4,
# 99.8% none; the price is that only clear, steady falls are called resolving (39% of resolving courses).
# "worsening" is a red flag asking for a review, where a miss matters more than a false alarm: CLINICAL.md's own
# rule (a lower bound above 1), one-sided at WORSENING_CONFIDENCE: 95% of worsening courses are recognised, and
# about 1 stable child in 20 is called worsening by chance.
TREND_FALL_AT_LEAST = 0.1  # resolving: a fall of at least 10% per 4 weeks
RESOLVING_CONFIDENCE = 0.998
RESOLVING_BOUND_BELOW = 1 - TREND_FALL_AT_LEAST
WORSENING_CONFIDENCE = 0.95
WORSENING_BOUND_ABOVE = 1.0
MIN_KENDALL_WEEKS = 3  # Kendall's tau and Theil-Sen need this many weeks with enough watched nights
# Pearson chi2/df above 1: quasi-Poisson standard errors (never below the Poisson ones). With the switch at 1.5,
# most false "resolving" on stable children came from fits with a dispersion up to 1.5 and Poisson intervals.
OVERDISPERSION_ABOVE = 1.0
RECENT_WEEKS = 3  # "last k weeks against the k before"
# No "resolving" while the last RECENT_WEEKS watched weeks are "up" on the ones before (SAME_WITHIN or more, clear
# or not): a course that falls and then turns back up is called resolving half as often with it.
# Has it changed? (compare_rates: the trends' recent change, the caregiver summary, the reminder emails)
SAME_WITHIN = 0.1  # rates less than 10% apart are "about the same"
CLEAR_CHANGE_P = 0.05  # "fewer" or "more" only when a two-sample Poisson test puts the change beyond chance
DEFAULT_WEEKS = 104  # the trends window when ?weeks= is not given
LIST_WINDOW_WEEKS = 2  # the patient list compares the last 2 weeks with the 2 before
DIARY_DAY_STARTS_AT_HOUR = 12  # a night belongs to the day it began: noon to noon, local time

# --- published figures ------------------------------------------------------------------------
# BNSM: 64% resolved before 3 months, 95% before 6 months (Maurer et al., Pediatrics 2010;125:e919).
REFERENCE_POINTS = ((3, 13, 0.64), (6, 26, 0.95))  # (months, weeks of corrected age, share of BNSM resolved)
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
