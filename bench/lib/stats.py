"""Latency statistics of the benchmarks, all through ``ecs.stats.percentile`` (nearest rank).

Nearest rank reports a latency some request really had; the benches used to carry three
slightly different index formulas of their own, which disagreed on small samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ecs.stats import percentile


def pct_ms(seconds: Iterable[float], q: float, *, empty: float = math.nan) -> float:
    """The ``q`` percentile of latencies given in seconds, in milliseconds (``empty`` if none)."""
    value = percentile(seconds, q, empty=math.nan)
    return empty if math.isnan(value) else value * 1000


def verdict(ok: bool) -> str:
    """How the summary tables mark a target met or missed."""
    return "✅" if ok else "❌"
