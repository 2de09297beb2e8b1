"""The one percentile: nearest rank over plain values and over (value, count) pairs."""

from __future__ import annotations

import math

import pytest

from ecs.stats import percentile, weighted_percentile


def test_nearest_rank_returns_an_observed_value() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2


def test_plain_and_weighted_agree() -> None:
    values = [1.0, 1.0, 1.0, 5.0, 7.0, 7.0]
    counts = [(1.0, 3), (5.0, 1), (7.0, 2)]
    for q in (0.1, 0.5, 0.51, 0.66, 0.67, 0.9, 1.0):
        assert percentile(values, q) == weighted_percentile(counts, q)


def test_empty_samples() -> None:
    assert math.isnan(percentile([], 0.5))
    assert percentile([], 0.5, empty=0.0) == 0.0
    with pytest.raises(ValueError):
        weighted_percentile([(1.0, 0)], 0.5)
    with pytest.raises(ValueError):
        weighted_percentile([(1.0, 1)], 0.0)
