"""Credit outcomes: approval by risk band, the distribution of approved limits, reason codes.

These describe what the model and the policy decided (the latest AUTOMATED record of each
decision, see ``window.py``); an analyst's later review is not the model's outcome.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ecs.insights.measures import DIGITS

LIMIT_EDGES: tuple[Decimal, ...] = tuple(
    Decimal(v) for v in ("0", "500", "1000", "2500", "5000", "7500", "10000", "15000", "20000")
)
"""Credit-limit histogram edges (lower-inclusive); the last bucket is open-ended. They follow the
policy's band caps (5,000 / 10,000 / 15,000 / 20,000) so each band's ceiling is a bucket edge."""


@dataclass(frozen=True)
class BandStats:
    band: str
    decisions: int
    approved: int
    approval_rate: float
    avg_interest_rate: Decimal | None


@dataclass(frozen=True)
class Bucket:
    lower: Decimal
    upper: Decimal | None
    count: int


@dataclass(frozen=True)
class ReasonCount:
    code: str
    count: int
    share: float


@dataclass(frozen=True)
class DayOutcomes:
    """The automated outcomes of one UTC day (only days with decisions are listed)."""

    day: date
    by_outcome: dict[str, int]


@dataclass(frozen=True)
class CreditInsights:
    window_days: int
    since: datetime
    model_version: str | None
    policy_version: str | None
    decisions: int
    by_outcome: dict[str, int]
    approval_rate: float | None
    unbanded: int
    bands: list[BandStats]
    approved_limits: int
    avg_approved_limit: Decimal | None
    limit_histogram: list[Bucket]
    reason_codes: list[ReasonCount]
    referred_backlog: int
    oldest_referred_at: datetime | None
    by_day: list[DayOutcomes]
    model_versions: list[str]
    policy_versions: list[str]


@dataclass(frozen=True)
class BandRow:
    """One risk band's counts as SQL groups them; ``band`` is None for unbanded decisions."""

    band: str | None
    decisions: int
    approved: int
    approved_rate_sum: Decimal


def band_stats(rows: Iterable[BandRow]) -> tuple[list[BandStats], int]:
    """Per-band approval and average rate (of approved decisions), sorted by band, and the
    number of decisions without a band (knock-outs and referrals never get one)."""
    bands: list[BandStats] = []
    unbanded = 0
    for row in rows:
        if row.band is None:
            unbanded += row.decisions
            continue
        bands.append(
            BandStats(
                band=row.band,
                decisions=row.decisions,
                approved=row.approved,
                approval_rate=round(row.approved / row.decisions, DIGITS),
                avg_interest_rate=row.approved_rate_sum / row.approved if row.approved else None,
            )
        )
    bands.sort(key=lambda b: b.band)
    return bands, unbanded


def histogram(
    values: Iterable[tuple[Decimal, int]], edges: Sequence[Decimal] = LIMIT_EDGES
) -> list[Bucket]:
    """Counts of ``(value, count)`` pairs per bucket ``[edges[i], edges[i+1])``.

    The last bucket is open-ended; values below the first edge are counted in the first bucket
    (limits are never negative, so this only guards against surprises).
    """
    counts = [0] * len(edges)
    for value, count in values:
        index = 0
        for i, edge in enumerate(edges):
            if value >= edge:
                index = i
        counts[index] += count
    return [
        Bucket(lower=edges[i], upper=edges[i + 1] if i + 1 < len(edges) else None, count=counts[i])
        for i in range(len(edges))
    ]


def weighted_mean(value_counts: Sequence[tuple[Decimal, int]]) -> Decimal | None:
    """Exact mean of a sample given as ``(value, count)`` pairs; None when it is empty."""
    n = sum(c for _, c in value_counts)
    return sum((v * c for v, c in value_counts), Decimal(0)) / n if n else None


def reason_counts(code_lists: Iterable[Sequence[str] | None], decisions: int) -> list[ReasonCount]:
    """How many decisions carry each reason code, most frequent first (ties by code).

    ``share`` is over all ``decisions`` of the window, so shares do not sum to 1: a decision
    carries up to four codes and some carry none."""
    counts: Counter[str] = Counter()
    for codes in code_lists:
        counts.update(codes or [])
    return [
        ReasonCount(code=code, count=n, share=round(n / decisions, DIGITS))
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def outcomes_by_day(records: Iterable[tuple[datetime, str]]) -> list[DayOutcomes]:
    """``(created_at, outcome)`` pairs counted per UTC day and outcome, oldest day first."""
    counts: dict[date, Counter[str]] = {}
    for created_at, outcome in records:
        counts.setdefault(created_at.date(), Counter())[outcome] += 1
    return [DayOutcomes(day, dict(sorted(c.items()))) for day, c in sorted(counts.items())]
