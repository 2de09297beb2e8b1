"""The conventions every insight shares, so a ratio or "the last week" reads the same everywhere.

Ratios and float averages are published to four decimals: finer digits are noise at the sample
sizes analysts look at, and a fixed precision keeps the JSON stable from one run to the next.
Money and rates stay ``Decimal`` end to end (the API fixes their scale when it serialises).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

DIGITS = 4
"""Decimals of every published ratio and float average."""

RECENT_DAYS = 7
"""The "last week": the emotion takeaways' recent window, and the PSI's (and each drift week)."""


def rounded(value: float | None) -> float | None:
    """``value`` to the published precision; None stays None ("no data", never 0)."""
    return None if value is None else round(value, DIGITS)


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` to the published precision; None when there is no ``whole``."""
    return round(part / whole, DIGITS) if whole else None


def mean(values: Sequence[Decimal]) -> Decimal | None:
    """Exact average of amounts (no float on the way); None for an empty sample."""
    return sum(values, Decimal(0)) / len(values) if values else None
