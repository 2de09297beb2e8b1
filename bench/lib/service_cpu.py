"""CPU seconds each service of a run used during one phase: where 2 shared cores go.

On this machine a latency figure means little without it: a phase whose services together use
close to 2 CPU-seconds per second is queueing for the cores, not waiting on I/O. Read from
``/proc`` (Linux): each service is its process group (``Stack.spawn`` starts one per service),
so its children count too; ``machine`` is every core's busy time, other people's work included.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from bench.lib.stack import Stack

Snapshot = dict[str, float]
MACHINE = "machine"
_TICK = os.sysconf("SC_CLK_TCK")


def snapshot(stack: Stack) -> Snapshot:
    """CPU seconds (user + system) so far: the machine, this process, each service's group."""
    groups = {process.pid: name for name, process in stack.processes}
    out: Snapshot = {MACHINE: _machine(), "bench": 0.0} | dict.fromkeys(groups.values(), 0.0)
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(stat.parent.name)
            # Fields after the command name (which may contain spaces and parentheses).
            fields = stat.read_text().rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
            name = "bench" if pid == me else groups.get(int(fields[2]))  # pgrp
            if name is not None:
                out[name] += seconds
    return out


def _machine() -> float:
    cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = cpu[3], cpu[4]
    return (sum(cpu[:8]) - idle - iowait) / _TICK


def used(before: Snapshot, after: Snapshot, seconds: float) -> str:
    """``cores used by this run 1.2 of 1.9 busy: worker 0.62 api 0.31 ...``: CPU seconds per
    wall second, per service of this run, against the whole machine's (the rest is other work)."""
    if seconds <= 0:
        return "cores used n/a"
    rates = {k: (after[k] - before.get(k, 0.0)) / seconds for k in after}
    machine = rates.pop(MACHINE)
    busy = sorted(((v, k) for k, v in rates.items() if v >= 0.01), reverse=True)
    parts = " ".join(f"{k} {v:.2f}" for v, k in busy)
    ours = sum(rates.values())
    return f"cores used by this run {ours:.2f} of {machine:.2f} busy on the machine: {parts}"


def per_item(before: Snapshot, after: Snapshot, items: int, unit: str) -> tuple[float, str]:
    """CPU milliseconds the run's services spent per ``unit`` (a journey, a workflow), in all
    and per service: what a decision costs the machine, whatever the machine's speed that hour.
    At ``r`` items per second, ``r x ms / 1000`` is the cores the run keeps busy."""
    if items <= 0:
        return 0.0, f"CPU per {unit} n/a"
    spent = {k: (after[k] - before.get(k, 0.0)) * 1000 / items for k in after if k != MACHINE}
    total = sum(spent.values())
    parts = " ".join(
        f"{k} {v:.1f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v >= 0.1
    )
    return total, f"CPU per {unit} {total:.1f} ms: {parts}"
