"""Where a benchmark round's CPU went, read from Linux's /proc: the client (this process), the server
(the gunicorn master and its workers), the database (PostgreSQL's processes) and idle.

    before = cpu.snapshot(server_pid); ...run the round...; used = cpu.since(before, server_pid)

On a machine without /proc (macOS) `snapshot` returns None and `since` reports nothing.
"""
import os
from pathlib import Path

PROC = Path("/proc")
GROUPS = ("server", "database", "client")


def snapshot(server_pid: int) -> dict[str, float] | None:
    """CPU seconds used so far by each group, and the machine's idle and total CPU seconds."""
    if not (PROC / "stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(GROUPS, 0.0)
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (group := _group(entry, server_pid)):
            used[group[0]] += group[1] / tick
    machine = [int(value) for value in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    used["idle"] = (machine[3] + machine[4]) / tick  # idle + iowait
    used["total"] = sum(machine[:8]) / tick  # guest time is already counted in user time
    return used


def since(before: dict[str, float] | None, server_pid: int) -> dict[str, float]:
    """CPU seconds per group since `before`, and the share of the machine left idle."""
    after = snapshot(server_pid)
    if before is None or after is None:
        return {}
    spent = {group: after[group] - before[group] for group in GROUPS}
    total = after["total"] - before["total"]
    spent["idle_share"] = (after["idle"] - before["idle"]) / total if total else 0.0
    return spent


def _group(entry: Path, server_pid: int) -> tuple[str, int] | None:
    """(group, CPU ticks) of one process, or None if it belongs to no group (or has exited)."""
    try:
        stat = (entry / "stat").read_text()
    except OSError:
        return None
    command = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()  # from field 3 (state) on
    pid, parent, ticks = int(entry.name), int(fields[1]), int(fields[11]) + int(fields[12])  # utime + stime
    if pid == os.getpid():
        return "client", ticks
    if server_pid in (pid, parent):
        return "server", ticks
    if command == "postgres":
        return "database", ticks
    return None
