"""The fairness monitor against hand-built decisions: group ratios, the rate gap and its edges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecs.domain.emotions import CoolingOff
from ecs.insights.fairness import (
    RATE_TOLERANCE,
    FairnessRow,
    fairness_report,
    had_recent_distress,
)

RULE = CoolingOff()  # the default cooling-off rule: distress at stress 0.8

RATE = Decimal("0.1290")


def approved(distress: bool, band: str | None, limit: int, rate: Decimal = RATE) -> FairnessRow:
    return FairnessRow(distress, True, band, Decimal(limit), rate)


def denied(distress: bool) -> FairnessRow:
    return FairnessRow(distress, False, None, Decimal(0), Decimal(0))


def test_group_approval_ratio_and_average_limit_by_hand() -> None:
    report = fairness_report(
        [
            approved(True, "A", 1000),
            denied(True),
            denied(True),
            approved(False, "A", 1000),
            approved(False, "A", 2000),
            approved(False, "B", 4000, Decimal("0.1890")),
        ],
        RULE,
    )
    distress, calm = report.groups
    assert (distress.group, distress.decisions, distress.approved) == ("distress", 3, 1)
    assert distress.approval_rate == 0.3333  # 1/3 to four decimals
    assert distress.avg_limit == Decimal(1000)  # of approved decisions only
    assert (calm.group, calm.approval_rate) == ("no_distress", 1.0)
    assert calm.avg_limit == Decimal(1000 + 2000 + 4000) / 3  # exact, no float on the way


def test_no_decisions_is_no_data_not_zero() -> None:
    report = fairness_report([], RULE)
    assert [(g.decisions, g.approval_rate, g.avg_limit) for g in report.groups] == [
        (0, None, None),
        (0, None, None),
    ]
    assert report.rate_by_band == [] and not report.violation


@pytest.mark.parametrize(
    ("gap", "violation"),
    [
        (Decimal(0), False),
        (RATE_TOLERANCE, False),  # one basis point is the storage precision, not a difference
        (RATE_TOLERANCE * 2, True),
        (-RATE_TOLERANCE * 2, True),  # a lower rate for the distress group is flagged as well
    ],
)
def test_rate_gap_is_a_violation_above_one_basis_point(gap: Decimal, violation: bool) -> None:
    report = fairness_report(
        [approved(True, "A", 500, RATE + gap), approved(False, "A", 900)], RULE
    )
    (check,) = report.rate_by_band
    assert check.difference == gap
    assert check.violation is violation and report.violation is violation


def test_rates_are_averaged_per_group_within_a_band() -> None:
    rows = [
        approved(True, "C", 100, Decimal("0.2000")),
        approved(True, "C", 100, Decimal("0.2100")),
        approved(False, "C", 100, Decimal("0.2050")),
    ]
    (check,) = fairness_report(rows, RULE).rate_by_band
    assert check.avg_rate_distress == Decimal("0.2050") and check.difference == 0
    assert not check.violation


def test_a_band_seen_in_one_group_only_cannot_be_compared() -> None:
    report = fairness_report(
        [approved(True, "D", 100), approved(False, "A", 100), denied(False)], RULE
    )
    assert [(c.band, c.difference, c.violation) for c in report.rate_by_band] == [
        ("A", None, False),
        ("D", None, False),
    ]
    assert report.rate_by_band[1].avg_rate_distress == RATE
    assert report.rate_by_band[1].avg_rate_no_distress is None


def test_unbanded_approvals_count_in_the_groups_but_not_in_the_rate_check() -> None:
    report = fairness_report([approved(True, None, 700), approved(False, None, 300)], RULE)
    assert report.rate_by_band == []
    assert [g.approved for g in report.groups] == [1, 1]


def test_the_distress_split_tolerates_missing_and_null_fields() -> None:
    assert not had_recent_distress({"stress_events_30d": None, "latest_stress": None}, RULE)
    assert had_recent_distress({"latest_stress": RULE.distress_stress}, RULE)
    assert had_recent_distress({"stress_events_30d": 3}, RULE)
    assert str(RULE.distress_stress) in fairness_report([], RULE).rule


def test_the_split_follows_the_configured_cooling_off_rule() -> None:
    """One rule: the distress the workflow pauses on is the distress the monitor splits by."""
    features = {"stress_events_30d": 0, "latest_stress": 0.7}
    assert not had_recent_distress(features, RULE)
    stricter = CoolingOff(distress_stress=0.65, calm_stress=0.3)
    assert had_recent_distress(features, stricter)
    assert "0.65" in fairness_report([], stricter).rule
