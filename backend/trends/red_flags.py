"""Red flags (../shared/CLINICAL.md): patterns that suggest a clinician review.

Never an alarm and never a diagnosis: each flag says what was seen, on which episodes, since when.
One-sided jerks alone are not a flag: 4 of 18 benign cases were one-sided (Kaddurah & Holmes 2009).
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from backend.children.ages import prematurity_days
from backend.trends import thresholds as t
from backend.trends.engine import Verdict
from backend.trends.facts import ChildFacts, EpisodeFact


@dataclass
class RedFlag:
    code: str
    message: str
    evidence: list[str]  # episode ids; for abnormal_eeg, the clinician note's id
    since: datetime  # the first evidence


@dataclass(frozen=True)
class Context:
    child: ChildFacts
    six_months_corrected: datetime  # BNSM past this instant: still present past 6 months


def _context(child: ChildFacts) -> Context:
    born = datetime.combine(child.birth_date, datetime.min.time(), tzinfo=ZoneInfo(child.timezone))
    days = t.BNSM_PERSISTENCE_DAYS + prematurity_days(child.gestational_weeks)
    return Context(child, born + timedelta(days=days))


EpisodeRule = tuple[str, str, Callable[[Context, EpisodeFact], bool]]
LAST_MARK = t.REFERENCE_POINTS[-1]  # ("6 months", weeks, share of BNSM resolved by then)

EPISODE_RULES: list[EpisodeRule] = [
    ("awake_episodes", "Episodes happened while the child was awake; benign sleep myoclonus happens only in sleep.",
     lambda c, e: e.sleep_state == "awake" and c.child.condition not in t.AWAKE_EXPECTED_CONDITIONS),
    ("not_stopping_on_waking", "Episodes did not stop when the child was woken.",
     lambda c, e: e.stopped_when_woken == "no"),
    ("warning_signs", "Warning signs were recorded during episodes (eye deviation, mouth movements, breathing "
     "pauses, colour change or crying).", lambda c, e: any(s in t.WARNING_SIGNS for s in e.signs)),
    ("long_episode", f"An episode lasted longer than {t.LONG_EPISODE_SECONDS // 60} minutes.",
     lambda c, e: e.duration_seconds > t.LONG_EPISODE_SECONDS),
    ("persists_past_6_months", f"Episodes continue past {LAST_MARK[0]} of corrected age; {LAST_MARK[2]:.0%} of BNSM "
     "has resolved by then.", lambda c, e: c.child.condition == "bnsm" and e.started_at > c.six_months_corrected),
]


def red_flags(child: ChildFacts, episodes: list[EpisodeFact], verdict: Verdict, now: datetime) -> list[RedFlag]:
    flags, context = [], _context(child)
    for code, message, applies in EPISODE_RULES:
        evidence = [e for e in episodes if applies(context, e)]
        if evidence:
            flags.append(RedFlag(code, message, [e.id for e in evidence], evidence[0].started_at))
    if child.eeg is not None and child.eeg.result == "abnormal":
        flags.append(RedFlag("abnormal_eeg", "A clinician recorded an abnormal EEG.", [child.eeg.note_id],
                             child.eeg.recorded_at))
    if verdict.code == "worsening":
        recent = [e for e in episodes if e.started_at >= now - timedelta(weeks=2 * t.RECENT_WEEKS)]
        since = recent[0].started_at if recent else now
        flags.append(RedFlag("worsening", "The episodes become more frequent with age. " + verdict.reasons[0],
                             [e.id for e in recent], since))
    return flags
