"""Cooling-off thresholds: inclusive edges and the calm-below-distress guard."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ecs.domain.emotions import CoolingOffThresholds, is_acute_distress, is_calm

T = CoolingOffThresholds()


def test_defaults() -> None:
    assert (T.distress_stress, T.distress_intensity, T.calm_stress) == (0.8, 0.6, 0.5)


@pytest.mark.parametrize(
    ("stress", "intensity", "expected"),
    [
        (0.8, 0.6, True),  # both exactly at threshold
        (1.0, 1.0, True),
        (0.79, 0.9, False),  # stress just below
        (0.95, 0.59, False),  # intense stress needed, not just stress
        (0.0, 1.0, False),
    ],
)
def test_acute_distress_needs_stress_and_intensity(
    stress: float, intensity: float, expected: bool
) -> None:
    assert is_acute_distress(stress, intensity, T) is expected


@pytest.mark.parametrize(
    ("stress", "expected"), [(0.0, True), (0.5, True), (0.5001, False), (0.9, False)]
)
def test_calm_is_stress_at_or_below_threshold(stress: float, expected: bool) -> None:
    assert is_calm(stress, T) is expected


def test_custom_thresholds() -> None:
    t = CoolingOffThresholds(distress_stress=0.6, distress_intensity=0.0, calm_stress=0.2)
    assert is_acute_distress(0.6, 0.0, t)
    assert not is_calm(0.3, t)
    assert is_calm(0.2, t)


def test_a_reading_is_never_both_distressed_and_calm() -> None:
    for s in [i / 100 for i in range(101)]:
        assert not (is_acute_distress(s, 1.0, T) and is_calm(s, T))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"calm_stress": 0.8},
        {"calm_stress": 0.9},
        {"distress_stress": 1.1},
        {"distress_intensity": -0.1},
    ],
)
def test_invalid_thresholds_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        CoolingOffThresholds.model_validate(kwargs)
