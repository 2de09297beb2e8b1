"""CPU time per process from ``/proc``: per-core figures that hold on a shared machine.

Wall-clock rates on a box shared with other work measure the box; the CPU seconds a process
spent per reading do not depend on who else runs. ``CpuMeter`` samples user + system time of the
processes it is given (and their children: ``uvicorn --workers`` forks) and of the PostgreSQL
backends serving one database, so a phase can report "µs of CPU per reading" for the API, the
consumers and PostgreSQL, from which readings/s per core follow.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of ``pid``, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK  # ppid, utime + stime


def tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and every live descendant."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                parents[int(entry)], cpu[int(entry)] = stat
    total, frontier = cpu.get(root, 0.0), [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent:
                total += cpu.get(pid, 0.0)
                frontier.append(pid)
    return total


def postgres_backends(admin_url: str, database: str) -> Callable[[], list[int]]:
    def pids() -> list[int]:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
            ).fetchall()
        return [int(r[0]) for r in rows]

    return pids


@dataclass
class CpuMeter:
    """CPU seconds per group of processes between ``start`` and ``stop``."""

    groups: dict[str, Callable[[], list[int]]]
    own: list[str] = field(default_factory=list)  # groups counted without their children
    _before: dict[str, dict[int, float]] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    def _sample(self) -> dict[str, dict[int, float]]:
        return {
            name: {pid: self._cpu(name, pid) for pid in pids()}
            for name, pids in self.groups.items()
        }

    def _cpu(self, name: str, pid: int) -> float:
        if name in self.own:
            stat = _stat(pid)
            return 0.0 if stat is None else stat[1]
        return tree_cpu(pid)

    def start(self) -> None:
        self._before = self._sample()

    def stop(self) -> dict[str, float]:
        after = self._sample()
        self.used = {
            name: sum(max(0.0, cpu - self._before[name].get(pid, 0.0)) for pid, cpu in now.items())
            for name, now in after.items()
        }
        return self.used
