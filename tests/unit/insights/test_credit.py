"""Credit outcome formulas: per-band approval, the limit distribution and reason frequencies."""

from __future__ import annotations

from decimal import Decimal

from ecs.insights.credit import (
    LIMIT_EDGES,
    BandRow,
    band_stats,
    histogram,
    reason_counts,
    weighted_mean,
)
from ecs.insights.measures import mean, ratio, rounded


def test_band_stats_by_hand() -> None:
    bands, unbanded = band_stats(
        [
            BandRow("B", decisions=3, approved=2, approved_rate_sum=Decimal("0.3780")),
            BandRow(None, decisions=4, approved=0, approved_rate_sum=Decimal(0)),
            BandRow("A", decisions=1, approved=1, approved_rate_sum=Decimal("0.1290")),
            BandRow("E", decisions=2, approved=0, approved_rate_sum=Decimal(0)),
        ]
    )
    assert unbanded == 4
    assert [b.band for b in bands] == ["A", "B", "E"]
    a, b, e = bands
    assert (a.approval_rate, a.avg_interest_rate) == (1.0, Decimal("0.1290"))
    assert (b.approval_rate, b.avg_interest_rate) == (0.6667, Decimal("0.1890"))
    assert (e.approval_rate, e.avg_interest_rate) == (0.0, None)  # no approval, no average rate


def test_the_default_limit_buckets_follow_the_band_caps() -> None:
    values = [
        (Decimal("4999.99"), 1),
        (Decimal(5000), 2),
        (Decimal(20000), 3),
        (Decimal(250000), 4),
        (Decimal(-1), 5),  # never happens; counted in the first bucket rather than lost
    ]
    buckets = histogram(values)
    assert [b.lower for b in buckets] == list(LIMIT_EDGES)
    counts = {b.lower: b.count for b in buckets}
    assert counts[Decimal(2500)] == 1 and counts[Decimal(5000)] == 2
    assert counts[Decimal(20000)] == 7 and buckets[-1].upper is None
    assert counts[Decimal(0)] == 5
    assert sum(counts.values()) == 15


def test_weighted_mean_of_value_counts() -> None:
    assert weighted_mean([(Decimal(1000), 2), (Decimal(4000), 1)]) == Decimal(2000)
    assert weighted_mean([]) is None


def test_reason_codes_most_frequent_first_ties_by_code_share_over_all_decisions() -> None:
    codes = [["B", "A"], ["A"], None, [], ["C", "B"], ["A"]]
    counted = reason_counts(codes, decisions=6)
    assert [(r.code, r.count, r.share) for r in counted] == [
        ("A", 3, 0.5),
        ("B", 2, 0.3333),
        ("C", 1, 0.1667),
    ]
    assert reason_counts([], decisions=0) == []


def test_shared_measures() -> None:
    assert ratio(1, 3) == 0.3333 and ratio(0, 5) == 0.0
    assert ratio(0, 0) is None  # nothing decided: no rate, not a rate of zero
    assert rounded(None) is None and rounded(0.123456) == 0.1235
    assert mean([Decimal("0.1"), Decimal("0.2")]) == Decimal("0.15") and mean([]) is None
