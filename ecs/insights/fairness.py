"""The fairness monitor: do emotions ever make credit dearer?

Decisions are split by whether the applicant showed recent distress (read from the feature
snapshot the decision was made on). Lower limits for the distress group are *expected*: the
policy's caution multiplier scales them down. A different average interest rate within one risk
band is not: band and rate come from the financial score only, so any gap above one basis point
is flagged as a violation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from ecs.domain.emotions import CoolingOff
from ecs.insights.measures import mean, ratio

RATE_TOLERANCE = Decimal("0.0001")
"""One basis point: rates are stored to four decimals, so any larger gap is a real difference."""


def rule_text(rule: CoolingOff) -> str:
    return (
        f"distress = stress_events_30d > 0 or latest_stress >= {rule.distress_stress} in the "
        "decision's feature snapshot; within a band the average rate must not differ between "
        "the groups"
    )


FairnessGroup = Literal["distress", "no_distress"]


@dataclass(frozen=True)
class GroupStats:
    group: FairnessGroup
    decisions: int
    approved: int
    approval_rate: float | None
    avg_limit: Decimal | None


@dataclass(frozen=True)
class BandRateCheck:
    band: str
    avg_rate_distress: Decimal | None
    avg_rate_no_distress: Decimal | None
    difference: Decimal | None
    violation: bool


@dataclass(frozen=True)
class FairnessReport:
    rule: str
    groups: list[GroupStats]
    rate_by_band: list[BandRateCheck]
    violation: bool


@dataclass(frozen=True)
class FairnessRow:
    """One decision as the monitor sees it (no user, no scores: the split and the terms)."""

    distress: bool
    approved: bool
    band: str | None
    credit_limit: Decimal
    interest_rate: Decimal


def had_recent_distress(features: Mapping[str, Any], rule: CoolingOff) -> bool:
    """The fairness split: distress readings in the last 30 days, or a last reading as stressed
    as the configured cooling-off rule calls distress (the same threshold the workflow pauses on).

    Reads the stored feature snapshot defensively (older snapshots may lack a field)."""
    events = features.get("stress_events_30d") or 0
    latest = features.get("latest_stress")
    return bool(events > 0 or (latest is not None and latest >= rule.distress_stress))


def _group_stats(distress: bool, members: list[FairnessRow]) -> GroupStats:
    approved = [r for r in members if r.approved]
    return GroupStats(
        group="distress" if distress else "no_distress",
        decisions=len(members),
        approved=len(approved),
        approval_rate=ratio(len(approved), len(members)),
        avg_limit=mean([r.credit_limit for r in approved]),
    )


def _rate_check(band: str, with_distress: Decimal | None, without: Decimal | None) -> BandRateCheck:
    diff = with_distress - without if with_distress is not None and without is not None else None
    return BandRateCheck(
        band=band,
        avg_rate_distress=with_distress,
        avg_rate_no_distress=without,
        difference=diff,
        violation=diff is not None and abs(diff) > RATE_TOLERANCE,
    )


def fairness_report(rows: Iterable[FairnessRow], rule: CoolingOff) -> FairnessReport:
    """Approval and limits by distress group (distress first), and the rate-parity check for
    every band with an approved decision, sorted by band."""
    groups: dict[bool, list[FairnessRow]] = {True: [], False: []}
    for row in rows:
        groups[row.distress].append(row)
    rates: dict[tuple[str, bool], list[Decimal]] = defaultdict(list)
    for distress, members in groups.items():
        for r in members:
            if r.approved and r.band is not None:
                rates[(r.band, distress)].append(r.interest_rate)
    checks = [
        _rate_check(band, mean(rates.get((band, True), [])), mean(rates.get((band, False), [])))
        for band in sorted({band for band, _ in rates})
    ]
    return FairnessReport(
        rule=rule_text(rule),
        groups=[_group_stats(distress, groups[distress]) for distress in (True, False)],
        rate_by_band=checks,
        violation=any(c.violation for c in checks),
    )
