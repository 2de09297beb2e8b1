"""What machine a benchmark ran on, so every printed figure carries its context.

Figures from a 2-core CI box and a 16-core laptop are not comparable; each bench prints this
block (and the same facts as one Markdown line) next to its results.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def load_average() -> str:
    """Other processes on a small machine skew every figure: say how busy it was."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min)"


def busy(threshold: float = 0.5) -> bool:
    """True when the 1-minute load is above ``threshold`` per core before a bench starts."""
    try:
        return os.getloadavg()[0] > threshold * (os.cpu_count() or 1)
    except OSError:
        return False


def describe(**extra: str) -> dict[str, str]:
    """nproc, CPU model, memory, OS, Python and load, plus what the bench adds (database, ...)."""
    facts = {
        "nproc": str(os.cpu_count() or 0),
        "cpu": _cpu_model(),
        "memory": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "load": load_average(),
    }
    facts.update(extra)
    return facts


def text_block(facts: dict[str, str]) -> str:
    width = max(len(key) for key in facts)
    return "\n".join(f"  {key:<{width}}  {value}" for key, value in facts.items())


def markdown_line(facts: dict[str, str]) -> str:
    return "Machine: " + ", ".join(f"{key} {value}" for key, value in facts.items())
