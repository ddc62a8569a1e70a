"""Words for codes, and times in the child's zone, for the dashboard's templates."""
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from backend.diary.vocabulary import ANSWER_WORDS, CONCERN_WORDS, TREATMENT_KIND_WORDS
from backend.trends.charts import chart_alt_text

VERDICTS = {"resolved": "Resolved", "resolving": "Resolving", "stable": "Stable", "worsening": "Worsening",
            "insufficient_data": "Not enough data"}
CONDITIONS = {"bnsm": "Benign neonatal sleep myoclonus", "benign_myoclonus_of_infancy": "Benign myoclonus of infancy",
              "hypnic_jerks": "Hypnic jerks", "unspecified": "Not yet specified"}
FLAGS = {"awake_episodes": "Episodes while awake", "not_stopping_on_waking": "Not stopping on waking",
         "warning_signs": "Warning signs", "long_episode": "Episode over 30 minutes",
         "persists_past_6_months": "Past 6 months (corrected)", "worsening": "Rising trend",
         "abnormal_eeg": "Abnormal EEG", "lost_skills": "Lost skills",
         "spasms_pattern": "Waking clusters with lost or stalled development"}
VIDEO_STATUSES = {"uploading": "Video uploading", "processing": "Video being processed", "ready": "Video",
                  "rejected": "Video not kept"}


def words(code: str | None) -> str:
    return "" if code is None else code.replace("_", " ")


def local_time(instant: datetime | None, zone: str) -> str:
    return "" if instant is None else instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def local_day(instant: datetime | None, zone: str) -> str:
    return "" if instant is None else instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d")


def duration(seconds: int) -> str:
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min {seconds % 60} s"


def helpers() -> dict:
    return {"verdict_words": lambda code: VERDICTS.get(code, words(code)),
            "condition_words": lambda code: CONDITIONS.get(code, words(code)),
            "flag_words": lambda code: FLAGS.get(code, words(code)),
            "video_status_words": lambda code: VIDEO_STATUSES.get(code, words(code)), "words": words,
            "concern_words": lambda code: CONCERN_WORDS.get(code, words(code)),
            "answer_words": lambda code: ANSWER_WORDS.get(code, words(code)),
            "treatment_kind_words": lambda code: TREATMENT_KIND_WORDS.get(code, words(code)),
            "local_time": local_time,
            "local_day": local_day, "duration": duration, "chart_alt": chart_alt_text,
            "episode_signs": lambda episode: json.loads(episode.signs or "[]")}
