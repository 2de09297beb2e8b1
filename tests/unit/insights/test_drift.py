"""Score drift formulas against hand-computed values: PSI, its bins, weeks and percentiles."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from ecs.insights.drift import (
    PSI_MIN_SAMPLES,
    ScoreGroup,
    psi,
    psi_bin,
    psi_reading,
    psi_report,
    week_bounds,
    weekly_scores,
)

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def test_psi_matches_the_formula_by_hand() -> None:
    # shares 0.5/0.5 against 0.25/0.75: (0.25-0.5)ln(0.25/0.5) + (0.75-0.5)ln(0.75/0.5)
    expected = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert psi([50, 50], [25, 75]) == pytest.approx(expected)
    assert expected == pytest.approx(0.274653, abs=1e-6)
    assert psi_reading(psi([50, 50], [25, 75])) == "significant shift"


def test_an_empty_bin_is_floored_not_infinite() -> None:
    # one bin empty on one side: shares (1, 0) vs (0.5, 0.5), the 0 floored at 1e-4
    value = psi([10, 0], [5, 5])
    by_hand = (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert value == pytest.approx(by_hand)


@pytest.mark.parametrize(
    ("score", "bin_"),
    [(0.0, 0), (0.0999, 0), (0.1, 1), (0.35, 3), (0.9, 9), (0.95, 9), (1.0, 9)],
)
def test_psi_bins_are_lower_inclusive_and_one_is_in_the_last(score: float, bin_: int) -> None:
    assert psi_bin(score) == bin_


def test_weeks_are_seven_days_newest_first_and_the_oldest_is_cut_at_since() -> None:
    since = NOW - timedelta(days=17)
    assert week_bounds(NOW, since) == [
        (NOW - timedelta(days=7), NOW),
        (NOW - timedelta(days=14), NOW - timedelta(days=7)),
        (since, NOW - timedelta(days=14)),
    ]
    assert week_bounds(NOW, NOW - timedelta(days=14)) == week_bounds(NOW, since)[:2]


def _g(week: int, version: str, score: float, count: int, psi_bin: int = 0) -> ScoreGroup:
    return ScoreGroup(week, version, score, psi_bin, count, total=score * count)


def test_weekly_scores_mean_and_nearest_rank_percentiles_per_week_and_version() -> None:
    weeks = week_bounds(NOW, NOW - timedelta(days=14))
    groups = [
        # this week, m1: sample 0.1, 0.2, 0.2, 0.9
        _g(0, "m1", 0.1, 1),
        _g(0, "m1", 0.2, 2),
        _g(0, "m1", 0.9, 1),
        _g(1, "m2", 0.5, 3),
        _g(1, "m1", 0.4, 1),
    ]
    drift = weekly_scores(groups, weeks)
    # oldest week first, then by version
    assert [(w.week_start, w.model_version) for w in drift] == [
        (weeks[1][0], "m1"),
        (weeks[1][0], "m2"),
        (weeks[0][0], "m1"),
    ]
    latest = drift[-1]
    assert latest.decisions == 4 and latest.week_end == NOW
    assert latest.mean == pytest.approx((0.1 + 0.4 + 0.9) / 4)
    assert latest.p50 == 0.2  # rank ceil(0.5 * 4) = 2
    assert latest.p90 == 0.9  # rank ceil(0.9 * 4) = 4
    assert (drift[1].p50, drift[1].p90, drift[1].mean) == (0.5, 0.5, 0.5)


def test_psi_needs_enough_scores_in_both_windows() -> None:
    few = PSI_MIN_SAMPLES - 1
    short = psi_report([_g(0, "m", 0.35, PSI_MIN_SAMPLES, 3), _g(1, "m", 0.05, few, 0)], NOW)
    assert (short.value, short.reading) == (None, "insufficient data")
    assert (short.recent_count, short.reference_count) == (PSI_MIN_SAMPLES, few)
    assert short.recent_shares[3] == 1.0 and short.reference_shares[0] == 1.0

    enough = psi_report(
        [
            _g(0, "m1", 0.05, 12, 0),
            _g(0, "m2", 0.15, 28, 1),  # versions are pooled
            _g(1, "m1", 0.05, 20, 0),
            _g(2, "m1", 0.15, 20, 1),  # every earlier week is the reference
        ],
        NOW,
    )
    # shares 0.5/0.5 against 0.3/0.7 (the eight empty bins add nothing)
    assert enough.value == round(0.2 * math.log(0.5 / 0.3) + 0.2 * math.log(0.7 / 0.5), 4)
    assert enough.value == 0.1695
    assert enough.reading == "moderate shift"
    assert enough.recent_shares[:2] == [0.3, 0.7] and enough.reference_shares[:2] == [0.5, 0.5]
    assert enough.bin_edges[0] == 0.0 and enough.bin_edges[-1] == 1.0 and enough.recent_since == NOW


def test_psi_report_of_no_scores_at_all() -> None:
    empty = psi_report([], NOW)
    assert empty.value is None and empty.recent_shares == [0.0] * 10
