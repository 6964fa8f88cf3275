"""What the benches read from /proc: the machine's CPU times (and the disk stalls they show), a
process's descendants, its memory and its CPU time."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path


def _cpu_times() -> list[int] | None:
    """The machine's CPU time counters (user, nice, system, idle, iowait, ...), None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            return [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None


async def disk_stalls(until: float, *, interval: float = 0.25, share: float = 0.25) -> float | None:
    """Seconds, until `until` (time.perf_counter()), during which the machine waited for its disk.

    Every `interval`, the share of all CPU time spent in iowait (a CPU idle while a process it ran
    waits for the disk): an interval where it is `share` or more counts. On a shared virtual disk a
    database's commit (an fsync of its log) sometimes takes hundreds of milliseconds; every answer
    that waits for a commit waits with it, however little CPU the machine is using.
    """
    before = _cpu_times()
    if before is None:
        return None
    stalled = 0.0
    while time.perf_counter() < until:
        await asyncio.sleep(interval)
        now = _cpu_times()
        if now is None:
            return None
        spent = [a - b for a, b in zip(now, before, strict=True)]
        if sum(spent) and spent[4] / sum(spent) >= share:
            stalled += interval
        before = now
    return stalled


def _proc_children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            children += [int(c) for c in text.split()]
    except OSError:
        pass
    return children


def proc_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_seconds(pid: int) -> float:
    try:
        # Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants, from /proc."""
    seen = [pid]
    i = 0
    while i < len(seen):
        seen += [c for c in _proc_children(seen[i]) if c not in seen]
        i += 1
    return seen
