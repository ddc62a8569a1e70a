"""Red flags (../shared/CLINICAL.md): patterns that suggest a clinician review.

Never an alarm and never a diagnosis: each flag says what was seen, on which episodes, since when.
One-sided jerks alone are not a flag: 4 of 18 benign cases were one-sided (Kaddurah & Holmes 2009).
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.children.ages import prematurity_days
from backend.i18n import duration, lazy_gettext
from backend.trends import formatting
from backend.trends import thresholds as t
from backend.trends.engine import Verdict
from backend.trends.facts import ChildFacts, DevelopmentFact, EpisodeFact


@dataclass
class RedFlag:
    code: str
    message: str  # lazy: reads in the reader's locale (str when read back from a kept report)
    evidence: list[str]  # episode ids; abnormal_eeg: the note's id; development flags: the check ids, then episodes
    since: datetime  # the first evidence; development flags: the (local) date of the check that raised it
    checks: list[str] = field(default_factory=list)  # the development check ids among the evidence

    def evidence_counts(self) -> tuple[int, int]:
        """(development checks, the rest): what the evidence is, counted by kind."""
        return len(self.checks), len(self.evidence) - len(self.checks)


@dataclass(frozen=True)
class Context:
    child: ChildFacts
    six_months_corrected: datetime  # BNSM past this instant: still present past 6 months


def _context(child: ChildFacts) -> Context:
    born = datetime.combine(child.birth_date, datetime.min.time(), tzinfo=ZoneInfo(child.timezone))
    days = t.BNSM_PERSISTENCE_DAYS + prematurity_days(child.gestational_weeks)
    return Context(child, born + timedelta(days=days))


EpisodeRule = tuple[str, object, Callable[[Context, EpisodeFact], bool]]  # code, message (lazy), applies
LAST_MARK = t.REFERENCE_POINTS[-1]  # (6 months, weeks, share of BNSM resolved by then)

EPISODE_RULES: list[EpisodeRule] = [
    ("awake_episodes", lazy_gettext("Episodes happened while the child was awake; benign sleep myoclonus happens "
                                    "only in sleep."),
     lambda c, e: e.sleep_state == "awake" and c.child.condition not in t.AWAKE_EXPECTED_CONDITIONS),
    ("not_stopping_on_waking", lazy_gettext("Episodes did not stop when the child was woken."),
     lambda c, e: e.stopped_when_woken == "no"),
    ("warning_signs", lazy_gettext("Warning signs were recorded during episodes (eye deviation, mouth movements, "
                                   "breathing pauses, colour change or crying)."),
     lambda c, e: any(s in t.WARNING_SIGNS for s in e.signs)),
    ("long_episode", lazy_gettext("An episode lasted longer than %(duration)s.",
                                  duration=duration(t.LONG_EPISODE_SECONDS // 60, "minute")),
     lambda c, e: e.duration_seconds > t.LONG_EPISODE_SECONDS),
    # Translators: BNSM is benign neonatal sleep myoclonus; "Episodes continue past 6 months of corrected age; 95%
    # of BNSM has resolved by then."
    ("persists_past_6_months", lazy_gettext("Episodes continue past %(age)s of corrected age; %(share)s of BNSM has "
                                            "resolved by then.", age=duration(LAST_MARK[0], "month"),
                                            share=formatting.share(LAST_MARK[2])),
     lambda c, e: c.child.condition == "bnsm" and e.started_at > c.six_months_corrected),
]


# Development (CLINICAL.md "Video, treatments and development"; red flag 3, the infantile-spasms pattern)
STALL_DAYS = 28  # "no new skills on two checks at least 4 weeks apart"
SPASMS_WINDOW_DAYS = 28  # waking episodes "within 28 days of that check", before or after it
SPASMS_MIN_WAKING_EPISODES = 3
LOST_SKILLS_MESSAGE = lazy_gettext("A development check recorded that the child lost skills they had.")
SPASMS_MESSAGE = lazy_gettext(
    "Please contact your doctor soon: repeated episodes on waking came together with lost skills or no new skills "
    "at a development check. This is not a diagnosis, but a clinician should see the child soon.")
ABNORMAL_EEG_MESSAGE = lazy_gettext("A clinician recorded an abnormal EEG.")


def _local_day(child: ChildFacts, instant: datetime) -> date:
    return instant.astimezone(ZoneInfo(child.timezone)).date()


def _midnight(child: ChildFacts, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(child.timezone))


def _stalls(checks: tuple[DevelopmentFact, ...]) -> list[tuple[DevelopmentFact, DevelopmentFact]]:
    """(first, last): two "no new skills" checks at least 4 weeks apart, with no "yes" after the first."""
    stalls = []
    for i, last in enumerate(checks):
        if last.new_skills != "no":
            continue
        for j, first in enumerate(checks[:i]):
            later = checks[j + 1:]
            if (first.new_skills == "no" and (last.checked_on - first.checked_on).days >= STALL_DAYS
                    and all(c.new_skills != "yes" for c in later)):
                stalls.append((first, last))
                break  # the earliest first check
    return stalls


def development_flags(child: ChildFacts, episodes: list[EpisodeFact]) -> list[RedFlag]:
    """`spasms_pattern` (the most urgent, first) and `lost_skills`."""
    checks = child.development
    lost = [c for c in checks if c.lost_skills == "yes"]
    triggers = [([c], c) for c in lost] + [([first, last], last) for first, last in _stalls(checks)]
    waking = [(e, _local_day(child, e.started_at)) for e in episodes if e.sleep_state == "waking"]
    raised, near = [], {}
    for evidence, check in sorted(triggers, key=lambda trigger: trigger[1].checked_on):
        around = [e for e, day in waking if abs((day - check.checked_on).days) <= SPASMS_WINDOW_DAYS]
        if len(around) >= SPASMS_MIN_WAKING_EPISODES:
            raised.append((evidence, check))
            near.update((e.id, e) for e in around)
    flags = []
    if raised:
        ids = list(dict.fromkeys(c.id for evidence, _ in raised for c in evidence))
        episode_ids = [e.id for e in sorted(near.values(), key=lambda e: e.started_at)]
        flags.append(RedFlag("spasms_pattern", SPASMS_MESSAGE, ids + episode_ids,
                             _midnight(child, raised[0][1].checked_on), checks=ids))
    if lost:
        flags.append(RedFlag("lost_skills", LOST_SKILLS_MESSAGE, [c.id for c in lost],
                             _midnight(child, lost[0].checked_on), checks=[c.id for c in lost]))
    return flags


def red_flags(child: ChildFacts, episodes: list[EpisodeFact], verdict: Verdict, now: datetime) -> list[RedFlag]:
    """Every flag, the infantile-spasms pattern first (the most urgent)."""
    development = development_flags(child, episodes)
    flags, context = [f for f in development if f.code == "spasms_pattern"], _context(child)
    for code, message, applies in EPISODE_RULES:
        evidence = [e for e in episodes if applies(context, e)]
        if evidence:
            flags.append(RedFlag(code, message, [e.id for e in evidence], evidence[0].started_at))
    if child.eeg is not None and child.eeg.result == "abnormal":
        flags.append(RedFlag("abnormal_eeg", ABNORMAL_EEG_MESSAGE, [child.eeg.note_id], child.eeg.recorded_at))
    if verdict.code == "worsening":
        recent = [e for e in episodes if e.started_at >= now - timedelta(weeks=2 * t.RECENT_WEEKS)]
        since = recent[0].started_at if recent else now
        # Translators: %(reason)s is the verdict's first reason, a sentence with the rate ratio
        message = lazy_gettext("The episodes become more frequent with age. %(reason)s", reason=verdict.reasons[0])
        flags.append(RedFlag("worsening", message, [e.id for e in recent], since))
    return flags + [f for f in development if f.code != "spasms_pattern"]
