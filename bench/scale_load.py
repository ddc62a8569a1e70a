"""The population of the cost curve (bench/scale_bench.py), bulk-loaded into a fresh PostgreSQL database with COPY.

`size` ordinary children, each with two caregivers (verified addresses) and one of size/500 clinicians (500
patients each), aged 0-24 months, with a diary drawn from a course of backend.diary.simulation (mostly resolving,
some stable, a few rising): it starts in the first weeks of life and runs until the family stops logging or today,
about 250 episodes per child on average. Child k is the same at every size (its own seed), so a bigger database
holds the smaller one and more. Beside them two children the measurements use:
  the family   a caregiver couple's child, 10 months old, its last 17 weeks of a resolving course (263 episodes):
               pulls, pushes (of episodes from months before the diary, at its 8th and 9th months)
  the big one  two years of diary, 5,000 episodes: trends, the dashboard's patient page (one of clinician 0's)
Half the children have a weekly reminder schedule; min(size, 1,000) of them are due at `due_at`, the others later
in the week; the outbox holds the emails of the weeks before (up to 26). Every child has a summary: the ones the
measurements read (clinician 0's patients, the children due, the two above) built by the app; the others written
as fresh rows with a plausible verdict. Rows carry version 1: below every version the sync clock hands out after
the migration.
"""
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg

from backend.db_types import new_id
from backend.diary.simulation import Course, resolving, rising, simulate, stable

PATIENTS_PER_CLINICIAN = 500
DUE_SCHEDULES = 1_000
CHUNK = 500  # children per COPY transaction
TIMEZONES = ["Europe/Berlin"] * 6 + ["Europe/London", "Europe/Madrid", "America/New_York", "Australia/Sydney"]
LOCALES = ["en"] * 8 + ["de", "es"]
VERDICTS = ["resolving"] * 5 + ["resolved"] * 2 + ["stable"] * 2 + ["insufficient_data"]
PASSWORD = "bench-password"

USER_COLUMNS = ("id", "email", "name", "role", "password_hash", "created_at", "email_verified_at", "locale")
CHILD_COLUMNS = ("id", "name", "birth_date", "gestational_weeks", "timezone", "condition", "owner_id", "created_at",
                 "updated_at", "version", "created_version")
MEMBER_COLUMNS = ("id", "child_id", "user_id", "role", "created_at", "first_granted_version", "granted_version")
EPISODE_COLUMNS = ("id", "child_id", "timezone", "started_at", "duration_seconds", "sleep_state",
                   "stopped_when_woken", "side", "body_parts", "signs", "triggers", "jerk_count", "logged_by",
                   "created_at", "updated_at", "version", "created_version")
SLEEP_COLUMNS = ("id", "child_id", "started_at", "ended_at", "kind", "watched", "logged_by", "created_at",
                 "updated_at", "version", "created_version")
SCHEDULE_COLUMNS = ("child_id", "cadence", "weekday", "local_time", "timezone", "enabled", "anchor", "next_due_at",
                    "known_verdict", "known_red_flags", "created_at", "updated_at")
SUMMARY_COLUMNS = ("child_id", "verdict", "red_flag_codes", "rate_recent", "rate_previous", "watched_nights_recent",
                   "episodes_total", "last_logged_at", "computed_at", "stale", "report_day")
REMINDER_COLUMNS = ("id", "child_id", "user_id", "kind", "period_key", "due_at", "status", "attempts",
                    "next_attempt_at", "sent_at", "subject", "development_prompt", "created_at")
HISTORY_WEEKS = 26


@dataclass
class Diary:
    """One child to load: who it is, who logs, and the course its diary is drawn from."""

    child_id: str
    birth: date
    timezone: str
    first_night: date
    nights: int
    course: Course
    seed: int
    max_episodes: int | None = None
    condition: str = "bnsm"
    gestational_weeks: float = 39.0


@dataclass
class Population:
    """What the measurements need to know of a loaded database."""

    size: int
    due_at: datetime
    family_child: str = "family"
    family_email: str = "family-a@scale.example"
    big_child: str = "big"
    big_email: str = "big-a@scale.example"
    clinician_email: str = "clinician-0@scale.example"
    list_patients: int = 0
    schedules: int = 0
    due_schedules: int = 0
    real_summaries: list[str] = field(default_factory=list)
    rows: dict = field(default_factory=dict)
    load_seconds: float = 0.0


def ordinary(index: int, today: date) -> Diary:
    """Child `index`: its age, onset, course and the length of its diary, from its own seed."""
    rng = random.Random(index)
    age = rng.randrange(0, 731)
    onset = rng.randrange(7, 29)
    kind = rng.random()
    if kind < 0.7:
        course, duration = resolving(rng.uniform(4, 10), rng.uniform(3, 10)), rng.randrange(42, 300)
        course = Course(course.rate, watched_share=rng.uniform(0.7, 0.95), night_to_night_shape=2.0)
    elif kind < 0.9:
        course, duration = stable(rng.uniform(0.8, 2.5)), rng.randrange(28, 200)
    else:
        course, duration = rising(rng.uniform(1.5, 3), rng.uniform(10, 20)), rng.randrange(14, 70)
    birth = today - timedelta(days=age)
    return Diary(f"k{index}", birth, rng.choice(TIMEZONES), birth + timedelta(days=onset),
                 max(0, min(age - onset, duration)), course, index,
                 condition="bnsm" if rng.random() < 0.8 else "unspecified",
                 gestational_weeks=rng.choice([39.0] * 8 + [35.0, 32.5]))


def special(today: date) -> list[Diary]:
    """The family (pulls, pushes) and the big child (trends, the patient page): the same at every size."""
    return [Diary("family", today - timedelta(days=320), "Europe/Berlin", today - timedelta(days=120), 120,
                  resolving(6, 6), seed=11),
            Diary("big", today - timedelta(days=740), "Europe/Berlin", today - timedelta(days=705), 700,
                  Course(lambda week: 7.5, watched_share=0.95), seed=7, max_episodes=5000)]


class Loader:
    """COPY the population in chunks, reporting progress; `report(message)` prints a line."""

    def __init__(self, dsn: str, size: int, due_at: datetime, password_hash: str, report: Callable[[str], None]):
        self.dsn, self.size, self.due_at, self.password_hash, self.report = dsn, size, due_at, password_hash, report
        self.now, self.today = datetime.now(UTC), date.today()
        self.rows = {"users": 0, "children": 0, "memberships": 0, "episodes": 0, "sleep_sessions": 0,
                     "reminder_schedules": 0, "reminders": 0, "child_summaries": 0}
        self.clinicians = size // PATIENTS_PER_CLINICIAN + 1  # clinician j: children (j * 500 - 1) to (j * 500 + 498)
        self.due = min(size, DUE_SCHEDULES)
        self.scheduled = max(self.due, size // 2)

    def population(self) -> Population:
        list_patients = min(self.size, PATIENTS_PER_CLINICIAN - 1) + 1  # the big child is one of clinician 0's
        real = [f"k{i}" for i in range(max(self.due, list_patients - 1))] + ["family", "big"]
        return Population(self.size, self.due_at, list_patients=list_patients, schedules=self.scheduled,
                          due_schedules=self.due, real_summaries=real, rows=self.rows)

    def load(self) -> Population:
        started = time.perf_counter()
        population = self.population()
        with psycopg.connect(self.dsn) as first, psycopg.connect(self.dsn) as second:
            self._users(first)
            diaries = special(self.today)
            self._family(first, second, diaries)
            for start in range(0, self.size, CHUNK):
                chunk = [ordinary(i, self.today) for i in range(start, min(start + CHUNK, self.size))]
                self._chunk(first, second, chunk, set(population.real_summaries))
                self.report(f"children {start + len(chunk):,}/{self.size:,}: {self.rows['episodes']:,} episodes, "
                            f"{self.rows['sleep_sessions']:,} nights ({time.perf_counter() - started:.0f} s)")
        population.load_seconds = time.perf_counter() - started
        return population

    # ---- accounts ---------------------------------------------------------------------------------

    def _users(self, conn) -> None:
        rows = [self._user(f"clinician-{j}@scale.example", f"Dr {j}", "clinician", "en")
                for j in range(self.clinicians)]
        with conn.cursor().copy(f"COPY users ({', '.join(USER_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        self.clinician_ids = [row[0] for row in rows]
        self.rows["users"] += len(rows)

    def _user(self, email: str, name: str, role: str, locale: str) -> tuple:
        return new_id(), email, name, role, self.password_hash, self.now, self.now, locale

    def _family(self, first, second, diaries: list[Diary]) -> None:
        """The two special children, their caregivers; the big one is among clinician 0's patients."""
        self._copy_children(first, second, diaries, {"family": None, "big": self.clinician_ids[0]})

    def _chunk(self, first, second, diaries: list[Diary], real: set[str]) -> None:
        clinicians = {d.child_id: self.clinician_ids[(d.seed + 1) // PATIENTS_PER_CLINICIAN] for d in diaries}
        owners = self._copy_children(first, second, diaries, clinicians)
        scheduled = [d for d in diaries if d.seed < self.scheduled]
        self._copy_schedules(first, scheduled)
        self._copy_sent(first, scheduled, owners)
        self._copy_summaries(first, [d for d in diaries if d.child_id not in real])
        first.commit()

    def _copy_children(self, first, second, diaries: list[Diary], clinicians: dict[str, str | None]) -> dict:
        """Caregivers, children, memberships on the first connection, then the diaries: episodes through the first
        connection and nights through the second, at once (two COPY streams)."""
        owners = {}
        with first.cursor().copy(f"COPY users ({', '.join(USER_COLUMNS)}) FROM STDIN") as copy:
            for diary in diaries:
                rng = random.Random(diary.seed + 1_000_000)
                pair = [self._user(f"{diary.child_id}-{who}@scale.example", f"Parent {who.upper()} {diary.child_id}",
                                   "caregiver", rng.choice(LOCALES)) for who in "ab"]
                owners[diary.child_id] = (pair[0][0], pair[1][0])
                for row in pair:
                    copy.write_row(row)
        with first.cursor().copy(f"COPY children ({', '.join(CHILD_COLUMNS)}) FROM STDIN") as copy:
            for d in diaries:
                copy.write_row((d.child_id, f"Baby {d.child_id}", d.birth, d.gestational_weeks, d.timezone,
                                d.condition, owners[d.child_id][0], self.now, self.now, 1, 1))
        with first.cursor().copy(f"COPY memberships ({', '.join(MEMBER_COLUMNS)}) FROM STDIN") as copy:
            for d in diaries:
                team = [(owners[d.child_id][0], "owner"), (owners[d.child_id][1], "caregiver")]
                if clinicians.get(d.child_id):
                    team.append((clinicians[d.child_id], "clinician"))
                for user_id, role in team:
                    copy.write_row((new_id(), d.child_id, user_id, role, self.now, 1, 1))
                    self.rows["memberships"] += 1
        first.commit()  # the diaries' second connection must see the children
        self.rows["users"] += 2 * len(diaries)
        self.rows["children"] += len(diaries)
        self._copy_diaries(first, second, diaries, owners)
        return owners

    def _copy_diaries(self, first, second, diaries: list[Diary], owners: dict) -> None:
        with first.cursor().copy(f"COPY episodes ({', '.join(EPISODE_COLUMNS)}) FROM STDIN") as episodes, \
                second.cursor().copy(f"COPY sleep_sessions ({', '.join(SLEEP_COLUMNS)}) FROM STDIN") as nights:
            for d in diaries:
                logged_by, count = owners[d.child_id][0], 0
                for table, v in simulate(random.Random(d.seed), d.child_id, d.timezone, d.first_night, d.nights,
                                         d.course):
                    if table == "sleep_sessions":
                        nights.write_row((v["id"], d.child_id, v["started_at"], v["ended_at"], v["kind"],
                                          v["watched"], logged_by, self.now, self.now, 1, 1))
                        self.rows["sleep_sessions"] += 1
                    elif d.max_episodes is None or count < d.max_episodes:
                        episodes.write_row((v["id"], d.child_id, d.timezone, v["started_at"], v["duration_seconds"],
                                            v["sleep_state"], v["stopped_when_woken"], v["side"], v["body_parts"],
                                            v["signs"], v["triggers"], v["jerk_count"], logged_by, self.now,
                                            self.now, 1, 1))
                        count += 1
                self.rows["episodes"] += count
        first.commit()
        second.commit()

    # ---- reminders and summaries ------------------------------------------------------------------

    def _copy_schedules(self, conn, diaries: list[Diary]) -> None:
        """Weekly schedules: the first `due` children's due at due_at, the others' later in the week. What the
        emails know is the synthetic summary's (the built ones' is set after they are built)."""
        with conn.cursor().copy(f"COPY reminder_schedules ({', '.join(SCHEDULE_COLUMNS)}) FROM STDIN") as copy:
            for d in diaries:
                later = timedelta(minutes=random.Random(d.seed + 2_000_000).randrange(60, 7 * 24 * 60))
                due = self.due_at if d.seed < self.due else self.due_at + later
                copy.write_row((d.child_id, "weekly", "sunday", "19:00", d.timezone, True, d.first_night, due,
                                synthetic_verdict(d), "[]", self.now, self.now))
        self.rows["reminder_schedules"] += len(diaries)

    def _copy_sent(self, conn, diaries: list[Diary], owners: dict) -> None:
        """The outbox's history: the weekly emails sent to both caregivers since the diary began (at most
        HISTORY_WEEKS), as the dispatcher's claim and its follow-up checks read the outbox."""
        with conn.cursor().copy(f"COPY reminders ({', '.join(REMINDER_COLUMNS)}) FROM STDIN") as copy:
            for d in diaries:
                for week in range(1, min(HISTORY_WEEKS, d.nights // 7) + 1):
                    due = self.due_at - timedelta(weeks=week)
                    for user_id in owners[d.child_id]:
                        copy.write_row((new_id(), d.child_id, user_id, "scheduled", due.date().isoformat(), due,
                                        "sent", 1, due, due, "Weekly diary summary", False, due))
                        self.rows["reminders"] += 1

    def _copy_summaries(self, conn, diaries: list[Diary]) -> None:
        """Fresh summaries nobody measured reads: the patient lists of other clinicians, the dispatch's events."""
        with conn.cursor().copy(f"COPY child_summaries ({', '.join(SUMMARY_COLUMNS)}) FROM STDIN") as copy:
            for d in diaries:
                copy.write_row((d.child_id, synthetic_verdict(d), "[]", 0.4, 0.6, 10, 250, self.now, self.now, False,
                                self.today))
        self.rows["child_summaries"] += len(diaries)


def synthetic_verdict(diary: Diary) -> str:
    return VERDICTS[diary.seed % len(VERDICTS)]
