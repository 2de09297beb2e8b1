"""The one percentile: nearest rank, used by insights, the simulator and the benchmarks.

Nearest rank (the smallest value with at least ``q`` of the sample at or below it) always returns
a value that was observed, so a p99 of "3 ms" means a request really took 3 ms; interpolating
methods invent values between two samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def weighted_percentile(value_counts: Iterable[tuple[float, int]], q: float) -> float:
    """Nearest-rank percentile (0 < q <= 1) of a sample given as ``(value, count)`` pairs.

    The form SQL returns (``GROUP BY value``), so large samples never become Python lists.
    Raises ``ValueError`` on an empty sample: the caller decides what "no data" reads as.
    """
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1], got {q}")
    pairs = sorted((v, c) for v, c in value_counts if c > 0)
    n = sum(c for _, c in pairs)
    if n == 0:
        raise ValueError("percentile of an empty sample")
    rank = max(1, math.ceil(q * n))
    seen = 0
    for value, count in pairs:
        seen += count
        if seen >= rank:
            return value
    return pairs[-1][0]


def percentile(values: Iterable[float], q: float, *, empty: float = math.nan) -> float:
    """Nearest-rank percentile of plain values; ``empty`` when there are none."""
    ordered = sorted(values)
    if not ordered:
        return empty
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
