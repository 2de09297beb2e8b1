"""Model score drift: weekly score percentiles per model version and the Population Stability
Index (PSI) of the last week's scores against the rest of the window.

Scores arrive grouped (week, version, score to 0.001, PSI bin) rather than one row per decision,
so the work stays small however many decisions there are; percentiles over that grouping are
exact to 0.0005 and use the one nearest-rank ``ecs.stats.weighted_percentile``.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ecs.insights.fairness import FairnessReport
from ecs.insights.measures import DIGITS, RECENT_DAYS
from ecs.stats import weighted_percentile

PSI_BINS = 10
PSI_EPSILON = 1e-4
"""Floor for an empty bin's share, so ln(a/e) stays finite (the usual PSI convention)."""
PSI_MIN_SAMPLES = 20
"""Below this many scores in either window the PSI is noise; it is reported as insufficient."""
PSI_STABLE, PSI_SIGNIFICANT = 0.10, 0.25

PSI_INNER_EDGES = [(i + 1) / PSI_BINS for i in range(PSI_BINS - 1)]
"""The bin edges inside (0, 1); the SQL ``CASE`` binning the scores uses exactly these."""

PsiReading = Literal["stable", "moderate shift", "significant shift", "insufficient data"]


@dataclass(frozen=True)
class WeeklyScore:
    week_start: datetime
    week_end: datetime
    model_version: str
    decisions: int
    mean: float
    p50: float
    p90: float


@dataclass(frozen=True)
class PsiReport:
    value: float | None
    reading: PsiReading
    recent_since: datetime
    recent_count: int
    reference_count: int
    bin_edges: list[float]
    recent_shares: list[float]
    reference_shares: list[float]


@dataclass(frozen=True)
class ModelInsights:
    """The model monitor over one window: score drift and the fairness check."""

    window_days: int
    since: datetime
    model_version: str | None
    policy_version: str | None
    drift: list[WeeklyScore]
    psi: PsiReport
    fairness: FairnessReport


@dataclass(frozen=True)
class ScoreGroup:
    """Scores of one (week, model version, score, PSI bin), as SQL groups them.

    ``week`` indexes ``week_bounds`` (0 is the most recent); ``score`` is rounded to 0.001,
    ``total`` is the exact sum of the group's scores (for the mean)."""

    week: int
    model_version: str
    score: float
    psi_bin: int
    count: int
    total: float


def psi_bin(score: float) -> int:
    """Index of the fixed-width bin over [0, 1] (lower-inclusive; 1.0 falls into the last bin).

    Counts the inner edges at or below the score: exactly what the SQL ``CASE`` does with the
    same edges, so both agree even at float edges."""
    return bisect_right(PSI_INNER_EDGES, score)


def shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def psi(expected: Sequence[int], actual: Sequence[int], epsilon: float = PSI_EPSILON) -> float:
    """Population Stability Index of ``actual`` against ``expected`` (counts per bin).

    PSI = sum((a - e) * ln(a / e)) over bins, with shares floored at ``epsilon`` so an empty bin
    contributes a large but finite term instead of infinity. Symmetric and >= 0.
    """
    if len(expected) != len(actual):
        raise ValueError("both distributions need the same bins")
    if sum(expected) == 0 or sum(actual) == 0:
        raise ValueError("PSI needs at least one observation in each distribution")
    total = 0.0
    for e, a in zip(shares(expected), shares(actual), strict=True):
        e, a = max(e, epsilon), max(a, epsilon)
        total += (a - e) * math.log(a / e)
    return total


def psi_from_scores(reference: Iterable[float], recent: Iterable[float]) -> float:
    """Convenience for tests and notebooks: PSI of two raw score samples over PSI_BINS bins."""
    expected, actual = [0] * PSI_BINS, [0] * PSI_BINS
    for s in reference:
        expected[psi_bin(s)] += 1
    for s in recent:
        actual[psi_bin(s)] += 1
    return psi(expected, actual)


def psi_reading(value: float | None) -> PsiReading:
    """The conventional reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 significant."""
    if value is None:
        return "insufficient data"
    if value < PSI_STABLE:
        return "stable"
    if value <= PSI_SIGNIFICANT:
        return "moderate shift"
    return "significant shift"


def week_bounds(now: datetime, since: datetime) -> list[tuple[datetime, datetime]]:
    """Consecutive 7-day windows ending at ``now``, newest first; the oldest is cut at since."""
    bounds = []
    end = now
    while end > since:
        start = max(end - timedelta(days=RECENT_DAYS), since)
        bounds.append((start, end))
        end = start
    return bounds


def weekly_scores(
    groups: Iterable[ScoreGroup], weeks: Sequence[tuple[datetime, datetime]]
) -> list[WeeklyScore]:
    """Mean, p50 and p90 per (week, model version), oldest week first as a chart reads."""
    values: dict[tuple[int, str], list[tuple[float, int]]] = defaultdict(list)
    sums: dict[tuple[int, str], float] = defaultdict(float)
    for g in groups:
        key = (g.week, g.model_version)
        values[key].append((g.score, g.count))
        sums[key] += g.total
    drift = []
    for (week, version), sample in sorted(values.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        n = sum(c for _, c in sample)
        start, end = weeks[week]
        drift.append(
            WeeklyScore(
                week_start=start,
                week_end=end,
                model_version=version,
                decisions=n,
                mean=round(sums[(week, version)] / n, DIGITS),
                p50=weighted_percentile(sample, 0.5),
                p90=weighted_percentile(sample, 0.9),
            )
        )
    return drift


def psi_report(groups: Iterable[ScoreGroup], recent_since: datetime) -> PsiReport:
    """The last week (week 0) against every earlier week of the window, all versions pooled.

    No value below ``PSI_MIN_SAMPLES`` in either window: no verdict rather than a noisy one."""
    recent, reference = [0] * PSI_BINS, [0] * PSI_BINS
    for g in groups:
        (recent if g.week == 0 else reference)[g.psi_bin] += g.count
    enough = sum(recent) >= PSI_MIN_SAMPLES and sum(reference) >= PSI_MIN_SAMPLES
    value = round(psi(reference, recent), DIGITS) if enough else None
    return PsiReport(
        value=value,
        reading=psi_reading(value),
        recent_since=recent_since,
        recent_count=sum(recent),
        reference_count=sum(reference),
        bin_edges=[i / PSI_BINS for i in range(PSI_BINS + 1)],
        recent_shares=[round(s, DIGITS) for s in shares(recent)],
        reference_shares=[round(s, DIGITS) for s in shares(reference)],
    )
