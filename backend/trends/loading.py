"""One child's trend report, built from its stored diary (the engine itself stays pure)."""
from datetime import datetime

from backend.children.models import Child
from backend.trends import thresholds as t
from backend.trends.facts import child_facts, episode_facts, sleep_facts
from backend.trends.report import TrendReport, build_report


def child_report(child: Child, now: datetime, weeks: int = t.DEFAULT_WEEKS, axis: str | None = None) -> TrendReport:
    return build_report(child_facts(child), episode_facts([child.id])[child.id], sleep_facts([child.id])[child.id],
                        now, weeks=weeks, axis=axis)
