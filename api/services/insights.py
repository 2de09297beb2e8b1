"""Analyst insights: emotion trends, credit outcomes, score drift and the fairness monitor.

Two layers, on purpose:

* **Pure functions** (``psi``, ``histogram``, ``percentile``, ``emotion_takeaways``,
  ``fairness_report``...) that take plain numbers and return plain numbers. They hold every
  formula a reviewer might question and are unit-tested without a database.
* **Query functions** (``emotion_insights``, ``credit_insights``, ``model_insights``) that
  aggregate in SQL where the SQL is the same on PostgreSQL and SQLite (``GROUP BY``, ``CASE``,
  ``COUNT(DISTINCT ...)``, ``ROUND``) and hand small grouped results to the pure layer. What is
  not portable (percentiles, JSON arrays and JSON fields) is done in Python over grouped or
  window-bounded rows.

Only aggregates ever leave this module: no user id, e-mail or single person's reading is part of
any response. Emotion aggregates are additionally k-anonymous (see ``K_ANONYMITY``).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, case, distinct, func, select
from sqlmodel import Session, col

from api.schemas import MoneyOut, RateOut
from ecs.db.tables import CreditDecision, DecisionRecord, EmotionDaily, User
from ecs.domain.status import DecisionStatus, RecordKind

K_ANONYMITY = 5
"""A day's emotion aggregate is published only if at least this many distinct users contributed.

With one contributor, "average stress of the day" *is* that person's stress; with two, either
can subtract their own readings and learn the other's. Emotional data is sensitive personal data
(LGPD art. 11), and analysts need trends, not people, so small groups are suppressed rather than
shown. The same threshold applies to the 7-day distress share."""

RECENT_DAYS = 7
PSI_BINS = 10
PSI_EPSILON = 1e-4
"""Floor for an empty bin's share, so ln(a/e) stays finite (the usual PSI convention)."""
PSI_MIN_SAMPLES = 20
"""Below this many scores in either window the PSI is noise; it is reported as insufficient."""
PSI_STABLE, PSI_SIGNIFICANT = 0.10, 0.25

LIMIT_EDGES: tuple[Decimal, ...] = tuple(
    Decimal(v) for v in ("0", "500", "1000", "2500", "5000", "7500", "10000", "15000", "20000")
)
"""Credit-limit histogram edges (lower-inclusive); the last bucket is open-ended. They follow the
policy's band caps (5,000 / 10,000 / 15,000 / 20,000) so each band's ceiling is a bucket edge."""

DISTRESS_LATEST_STRESS = 0.8
RATE_TOLERANCE = Decimal("0.0001")
"""One basis point: rates are stored to four decimals, so any larger gap is a real difference."""

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

PsiReading = Literal["stable", "moderate shift", "significant shift", "insufficient data"]


# --- Response models -----------------------------------------------------------------------------


class EmotionDayPoint(BaseModel):
    day: date
    users: int = Field(description="Distinct consenting users with readings that day (>= k)")
    readings: int
    avg_positivity: float
    avg_intensity: float
    avg_stress: float
    distress_readings: int


class EmotionTakeaways(BaseModel):
    avg_stress_last_7d: float | None
    avg_stress_prev_7d: float | None
    stress_change_wow: float | None = Field(
        description="Relative week-over-week change of average stress (0.1 = +10%)"
    )
    active_users_7d: int | None = Field(description="Null when fewer than k users were active")
    distress_user_share_7d: float | None = Field(
        description="Share of active users with at least one distress reading in the last 7 days"
    )
    most_stressful_weekday: str | None
    most_stressful_weekday_avg: float | None
    summary: list[str] = Field(description="The takeaways as sentences, for people")


class EmotionInsights(BaseModel):
    window_days: int
    first_day: date
    last_day: date
    k_anonymity: int
    suppressed_days: int = Field(description="Days with readings from fewer than k users")
    days: list[EmotionDayPoint]
    takeaways: EmotionTakeaways


class BandStats(BaseModel):
    band: str
    decisions: int
    approved: int
    approval_rate: float
    avg_interest_rate: RateOut | None = Field(description="Average rate of approved decisions")


class Bucket(BaseModel):
    lower: MoneyOut
    upper: MoneyOut | None = Field(description="Exclusive; null for the open last bucket")
    count: int


class ReasonCount(BaseModel):
    code: str
    count: int
    share: float = Field(description="Share of decisions carrying this code")


class CreditInsights(BaseModel):
    window_days: int
    since: datetime
    model_version: str | None
    policy_version: str | None
    decisions: int
    by_outcome: dict[str, int]
    approval_rate: float | None
    unbanded: int = Field(description="Decisions without a risk band (knock-outs, referrals)")
    bands: list[BandStats]
    approved_limits: int
    avg_approved_limit: MoneyOut | None
    limit_histogram: list[Bucket]
    reason_codes: list[ReasonCount]
    referred_backlog: int = Field(description="Decisions waiting for an analyst now (all time)")
    oldest_referred_at: datetime | None


class WeeklyScore(BaseModel):
    week_start: datetime
    week_end: datetime
    model_version: str
    decisions: int
    mean: float
    p50: float
    p90: float


class PsiReport(BaseModel):
    value: float | None
    reading: PsiReading
    recent_since: datetime
    recent_count: int
    reference_count: int
    bin_edges: list[float]
    recent_shares: list[float]
    reference_shares: list[float]


class GroupStats(BaseModel):
    group: Literal["distress", "no_distress"]
    decisions: int
    approved: int
    approval_rate: float | None
    avg_limit: MoneyOut | None = Field(description="Average limit of approved decisions")


class BandRateCheck(BaseModel):
    band: str
    avg_rate_distress: RateOut | None
    avg_rate_no_distress: RateOut | None
    difference: RateOut | None
    violation: bool


class FairnessReport(BaseModel):
    rule: str
    groups: list[GroupStats]
    rate_by_band: list[BandRateCheck]
    violation: bool


class ModelInsights(BaseModel):
    window_days: int
    since: datetime
    model_version: str | None
    policy_version: str | None
    drift: list[WeeklyScore]
    psi: PsiReport
    fairness: FairnessReport


# --- Pure computations ---------------------------------------------------------------------------


_PSI_INNER_EDGES = [(i + 1) / PSI_BINS for i in range(PSI_BINS - 1)]


def psi_bin(score: float) -> int:
    """Index of the fixed-width bin over [0, 1] (lower-inclusive; 1.0 falls into the last bin).

    Counts the inner edges at or below the score: exactly what the SQL ``CASE`` in
    ``_score_groups`` does with the same edges, so both agree even at float edges."""
    return bisect_right(_PSI_INNER_EDGES, score)


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


def percentile(value_counts: Iterable[tuple[float, int]], q: float) -> float:
    """Nearest-rank percentile (0 < q <= 1) of a sample given as ``(value, count)`` pairs."""
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


@dataclass(frozen=True)
class DayAggregate:
    """One day's sums over users (the shape SQL returns; averages are derived, never summed)."""

    day: date
    users: int
    readings: int
    positivity_sum: float
    intensity_sum: float
    stress_sum: float
    distress_readings: int

    def point(self) -> EmotionDayPoint:
        n = max(self.readings, 1)
        return EmotionDayPoint(
            day=self.day,
            users=self.users,
            readings=self.readings,
            avg_positivity=round(self.positivity_sum / n, 4),
            avg_intensity=round(self.intensity_sum / n, 4),
            avg_stress=round(self.stress_sum / n, 4),
            distress_readings=self.distress_readings,
        )


def k_anonymous(days: Iterable[DayAggregate], k: int = K_ANONYMITY) -> list[DayAggregate]:
    return [d for d in days if d.users >= k]


def _avg_stress(days: Iterable[DayAggregate]) -> float | None:
    readings = stress = 0.0
    for d in days:
        readings += d.readings
        stress += d.stress_sum
    return stress / readings if readings else None


def emotion_takeaways(
    days: Sequence[DayAggregate],
    last_day: date,
    active_users_7d: int | None,
    distressed_users_7d: int | None,
) -> EmotionTakeaways:
    """Key takeaways from *published* (k-anonymous) days only, weighted by readings.

    ``active_users_7d`` / ``distressed_users_7d`` are distinct-user counts over the last 7 days
    (they cannot be derived from daily rows, a user active on two days would count twice); pass
    ``None`` when they are below k.
    """
    recent_start = last_day - timedelta(days=RECENT_DAYS - 1)
    prev_start = recent_start - timedelta(days=RECENT_DAYS)
    last7 = _avg_stress(d for d in days if recent_start <= d.day <= last_day)
    prev7 = _avg_stress(d for d in days if prev_start <= d.day < recent_start)
    change = (last7 - prev7) / prev7 if last7 is not None and prev7 else None

    by_weekday: dict[int, list[DayAggregate]] = defaultdict(list)
    for d in days:
        by_weekday[d.day.weekday()].append(d)
    weekday_avgs = {w: _avg_stress(ds) for w, ds in by_weekday.items()}
    ranked = sorted(
        ((avg, w) for w, avg in weekday_avgs.items() if avg is not None),
        key=lambda x: (-x[0], x[1]),
    )
    top_weekday = WEEKDAYS[ranked[0][1]] if ranked else None
    top_avg = ranked[0][0] if ranked else None

    share = (
        distressed_users_7d / active_users_7d
        if active_users_7d and distressed_users_7d is not None
        else None
    )
    summary: list[str] = []
    if change is not None and last7 is not None and prev7 is not None:
        direction = "rose" if change > 0 else "fell" if change < 0 else "held steady"
        summary.append(
            f"Average stress {direction} {abs(change):.0%} week over week "
            f"({prev7:.2f} → {last7:.2f})."
        )
    elif last7 is not None:
        summary.append(f"Average stress over the last 7 days was {last7:.2f}.")
    if share is not None:
        summary.append(
            f"{share:.0%} of {active_users_7d} active users had at least one distress reading "
            "in the last 7 days."
        )
    if top_weekday is not None and top_avg is not None and len(ranked) > 1:
        summary.append(f"Stress is highest on {top_weekday}s (average {top_avg:.2f}).")
    if not summary:
        summary.append(
            f"Not enough data yet: a day is shown once at least {K_ANONYMITY} users have readings."
        )
    return EmotionTakeaways(
        avg_stress_last_7d=_round(last7),
        avg_stress_prev_7d=_round(prev7),
        stress_change_wow=_round(change),
        active_users_7d=active_users_7d,
        distress_user_share_7d=_round(share),
        most_stressful_weekday=top_weekday,
        most_stressful_weekday_avg=_round(top_avg),
        summary=summary,
    )


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def had_recent_distress(features: Mapping[str, Any]) -> bool:
    """The fairness split: distress readings in the last 30 days, or a very stressed last one.

    Reads the stored feature snapshot defensively (older snapshots may lack a field)."""
    events = features.get("stress_events_30d") or 0
    latest = features.get("latest_stress")
    return bool(events > 0 or (latest is not None and latest >= DISTRESS_LATEST_STRESS))


@dataclass(frozen=True)
class FairnessRow:
    distress: bool
    approved: bool
    band: str | None
    credit_limit: Decimal
    interest_rate: Decimal


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def fairness_report(rows: Iterable[FairnessRow]) -> FairnessReport:
    """Approval and limits by distress group, and the rate-parity check per band.

    Lower limits for the distress group are *expected* (the policy's caution multiplier); a
    different average rate within a band is not: band and rate come from the financial score
    only, so any gap above one basis point is flagged as a violation.
    """
    groups: dict[bool, list[FairnessRow]] = {True: [], False: []}
    for row in rows:
        groups[row.distress].append(row)
    stats = []
    for distress in (True, False):
        members = groups[distress]
        approved = [r for r in members if r.approved]
        stats.append(
            GroupStats(
                group="distress" if distress else "no_distress",
                decisions=len(members),
                approved=len(approved),
                approval_rate=_round(len(approved) / len(members)) if members else None,
                avg_limit=_mean([r.credit_limit for r in approved]),
            )
        )
    rates: dict[tuple[str, bool], list[Decimal]] = defaultdict(list)
    for distress, members in groups.items():
        for r in members:
            if r.approved and r.band is not None:
                rates[(r.band, distress)].append(r.interest_rate)
    checks = []
    for band in sorted({band for band, _ in rates}):
        with_distress = _mean(rates.get((band, True), []))
        without = _mean(rates.get((band, False), []))
        diff = (
            with_distress - without if with_distress is not None and without is not None else None
        )
        checks.append(
            BandRateCheck(
                band=band,
                avg_rate_distress=with_distress,
                avg_rate_no_distress=without,
                difference=diff,
                violation=diff is not None and abs(diff) > RATE_TOLERANCE,
            )
        )
    return FairnessReport(
        rule=(
            "distress = stress_events_30d > 0 or latest_stress >= 0.8 in the decision's feature "
            "snapshot; within a band the average rate must not differ between the groups"
        ),
        groups=stats,
        rate_by_band=checks,
        violation=any(c.violation for c in checks),
    )


# --- Queries ------------------------------------------------------------------------------------


def _consenting() -> list[ColumnElement[bool]]:
    return [col(User.consent_emotion_processing).is_(True), col(User.erased_at).is_(None)]


def emotion_insights(session: Session, *, days: int, today: date) -> EmotionInsights:
    """Daily trend from ``emotion_daily`` (per-user daily sums), never from raw readings."""
    first_day = today - timedelta(days=days - 1)
    in_window = [col(EmotionDaily.day) >= first_day, col(EmotionDaily.day) <= today]
    daily = (
        select(
            col(EmotionDaily.day),
            func.count(),
            func.sum(col(EmotionDaily.readings)),
            func.sum(col(EmotionDaily.positivity_sum)),
            func.sum(col(EmotionDaily.intensity_sum)),
            func.sum(col(EmotionDaily.stress_sum)),
            func.sum(col(EmotionDaily.distress_count)),
        )
        .join(User, col(User.id) == col(EmotionDaily.user_id))
        .where(*in_window, col(EmotionDaily.readings) > 0, *_consenting())
        .group_by(col(EmotionDaily.day))
        .order_by(col(EmotionDaily.day))
    )
    all_days = [
        DayAggregate(day, users, int(n), float(pos), float(inten), float(stress), int(distress))
        for day, users, n, pos, inten, stress, distress in session.execute(daily)
    ]
    published = k_anonymous(all_days)

    recent_start = today - timedelta(days=RECENT_DAYS - 1)
    distressed_user = case((col(EmotionDaily.distress_count) > 0, col(EmotionDaily.user_id)))
    week = (
        select(
            func.count(distinct(col(EmotionDaily.user_id))),
            func.count(distinct(distressed_user)),
        )
        .join(User, col(User.id) == col(EmotionDaily.user_id))
        .where(
            col(EmotionDaily.day) >= recent_start,
            col(EmotionDaily.day) <= today,
            col(EmotionDaily.readings) > 0,
            *_consenting(),
        )
    )
    active, distressed = session.execute(week).one()
    if active < K_ANONYMITY:
        active = distressed = None
    return EmotionInsights(
        window_days=days,
        first_day=first_day,
        last_day=today,
        k_anonymity=K_ANONYMITY,
        suppressed_days=len(all_days) - len(published),
        days=[d.point() for d in published],
        takeaways=emotion_takeaways(published, today, active, distressed),
    )


def _latest_automated(
    since: datetime, model_version: str | None, policy_version: str | None
) -> list[ColumnElement[bool]]:
    """Conditions selecting the latest AUTOMATED record of each decision made since ``since``.

    Analyst REVIEW records are excluded on purpose: these insights describe what the model and
    the policy decided, which is what drift and fairness monitoring must judge.
    """
    latest = (
        select(func.max(col(DecisionRecord.id)))
        .where(
            col(DecisionRecord.kind) == RecordKind.AUTOMATED,
            col(DecisionRecord.created_at) >= since,
        )
        .group_by(col(DecisionRecord.decision_id))
    )
    conditions: list[ColumnElement[bool]] = [col(DecisionRecord.id).in_(latest)]
    if model_version is not None:
        conditions.append(col(DecisionRecord.model_version) == model_version)
    if policy_version is not None:
        conditions.append(col(DecisionRecord.policy_version) == policy_version)
    return conditions


def credit_insights(
    session: Session,
    *,
    days: int,
    now: datetime,
    model_version: str | None = None,
    policy_version: str | None = None,
) -> CreditInsights:
    since = now - timedelta(days=days)
    where = _latest_automated(since, model_version, policy_version)
    approved = col(DecisionRecord.outcome) == "APPROVED"

    by_outcome = {
        outcome: count
        for outcome, count in session.execute(
            select(col(DecisionRecord.outcome), func.count())
            .where(*where)
            .group_by(col(DecisionRecord.outcome))
        )
    }
    total = sum(by_outcome.values())

    band_rows = session.execute(
        select(
            col(DecisionRecord.risk_band),
            func.count(),
            func.sum(case((approved, 1), else_=0)),
            func.sum(case((approved, col(DecisionRecord.interest_rate)), else_=None)),
        )
        .where(*where)
        .group_by(col(DecisionRecord.risk_band))
    )
    bands: list[BandStats] = []
    unbanded = 0
    for band, count, n_approved, rate_sum in band_rows:
        if band is None:
            unbanded += count
            continue
        n_approved = int(n_approved or 0)
        bands.append(
            BandStats(
                band=band,
                decisions=count,
                approved=n_approved,
                approval_rate=round(n_approved / count, 4),
                avg_interest_rate=Decimal(rate_sum) / n_approved if n_approved else None,
            )
        )
    bands.sort(key=lambda b: b.band)

    # Limits are floored to 50 by the policy, so distinct values are few: group in SQL, bucket
    # in Python (one code path for both databases, tested without I/O).
    limits = [
        (Decimal(limit), count)
        for limit, count in session.execute(
            select(col(DecisionRecord.credit_limit), func.count())
            .where(*where, approved)
            .group_by(col(DecisionRecord.credit_limit))
        )
    ]
    n_limits = sum(c for _, c in limits)
    avg_limit = sum((v * c for v, c in limits), Decimal(0)) / n_limits if n_limits else None

    # reason_codes is a JSON array; unnesting it differs per database (json_each vs
    # jsonb_array_elements), so it is counted here, over the window only.
    reasons: Counter[str] = Counter()
    for (codes,) in session.execute(select(col(DecisionRecord.reason_codes)).where(*where)):
        reasons.update(codes or [])

    backlog, oldest = session.execute(
        select(func.count(), func.min(col(CreditDecision.requested_at))).where(
            col(CreditDecision.status) == DecisionStatus.REFERRED
        )
    ).one()
    return CreditInsights(
        window_days=days,
        since=since,
        model_version=model_version,
        policy_version=policy_version,
        decisions=total,
        by_outcome=dict(sorted(by_outcome.items())),
        approval_rate=round(by_outcome.get("APPROVED", 0) / total, 4) if total else None,
        unbanded=unbanded,
        bands=bands,
        approved_limits=n_limits,
        avg_approved_limit=avg_limit,
        limit_histogram=histogram(limits),
        reason_codes=[
            ReasonCount(code=code, count=n, share=round(n / total, 4))
            for code, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        referred_backlog=backlog,
        oldest_referred_at=_aware(oldest),
    )


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates (MIN) bypass the column type's result processing, so SQLite returns a naive
    value (or a string); normalise to aware UTC like every other timestamp of the API."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _week_bounds(now: datetime, since: datetime) -> list[tuple[datetime, datetime]]:
    """Consecutive 7-day windows ending at ``now``, newest first; the oldest is cut at since."""
    bounds = []
    end = now
    while end > since:
        start = max(end - timedelta(days=RECENT_DAYS), since)
        bounds.append((start, end))
        end = start
    return bounds


def _score_groups(
    where: list[ColumnElement[bool]], weeks: list[tuple[datetime, datetime]]
) -> Select[tuple[int, str | None, float, int, int, float]]:
    """Scores grouped by (week, model version, score to 0.001, PSI bin) with count and sum.

    The CASE expressions are computed in a subquery and grouped in the outer query, because
    PostgreSQL does not accept a GROUP BY expression whose bound parameters differ from the
    select list's. The result has at most weeks x versions x ~1,000 rows however many decisions
    there are, and percentiles taken from it are exact to 0.0005.
    """
    week = case(
        *((col(DecisionRecord.created_at) >= start, i) for i, (start, _) in enumerate(weeks)),
        else_=len(weeks) - 1,
    )
    score = col(DecisionRecord.risk_score)
    bin_ = case(*((score < edge, i) for i, edge in enumerate(_PSI_INNER_EDGES)), else_=PSI_BINS - 1)
    inner = (
        select(
            week.label("week"),
            col(DecisionRecord.model_version).label("model_version"),
            func.round(score * 1000).label("milli"),
            bin_.label("bin"),
            score.label("score"),
        )
        .where(*where, score.is_not(None))
        .subquery()
    )
    return select(
        inner.c.week,
        inner.c.model_version,
        inner.c.milli,
        inner.c.bin,
        func.count(),
        func.sum(inner.c.score),
    ).group_by(inner.c.week, inner.c.model_version, inner.c.milli, inner.c.bin)


def model_insights(
    session: Session,
    *,
    days: int,
    now: datetime,
    model_version: str | None = None,
    policy_version: str | None = None,
) -> ModelInsights:
    since = now - timedelta(days=days)
    where = _latest_automated(since, model_version, policy_version)
    weeks = _week_bounds(now, since)

    per_week: dict[tuple[int, str], list[tuple[float, int]]] = defaultdict(list)
    sums: dict[tuple[int, str], float] = defaultdict(float)
    recent, reference = [0] * PSI_BINS, [0] * PSI_BINS
    for week, version, milli, bin_, count, total in session.execute(_score_groups(where, weeks)):
        key = (int(week), version or "unknown")
        per_week[key].append((float(milli) / 1000, count))
        sums[key] += float(total)
        (recent if int(week) == 0 else reference)[int(bin_)] += count

    drift = []  # oldest week first, as a chart reads
    for (week, version), values in sorted(per_week.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        n = sum(c for _, c in values)
        start, end = weeks[week]
        drift.append(
            WeeklyScore(
                week_start=start,
                week_end=end,
                model_version=version,
                decisions=n,
                mean=round(sums[(week, version)] / n, 4),
                p50=percentile(values, 0.5),
                p90=percentile(values, 0.9),
            )
        )
    enough = sum(recent) >= PSI_MIN_SAMPLES and sum(reference) >= PSI_MIN_SAMPLES
    value = round(psi(reference, recent), 4) if enough else None
    psi_report = PsiReport(
        value=value,
        reading=psi_reading(value),
        recent_since=weeks[0][0],
        recent_count=sum(recent),
        reference_count=sum(reference),
        bin_edges=[i / PSI_BINS for i in range(PSI_BINS + 1)],
        recent_shares=[round(s, 4) for s in shares(recent)],
        reference_shares=[round(s, 4) for s in shares(reference)],
    )

    # Feature snapshots are JSON whose field extraction differs per database; they are read
    # here, bounded by the window (a few columns per decision).
    rows = session.execute(
        select(
            col(DecisionRecord.features),
            col(DecisionRecord.outcome),
            col(DecisionRecord.risk_band),
            col(DecisionRecord.credit_limit),
            col(DecisionRecord.interest_rate),
        ).where(*where)
    )
    fairness = fairness_report(
        FairnessRow(
            distress=had_recent_distress(features or {}),
            approved=outcome == "APPROVED",
            band=band,
            credit_limit=Decimal(limit),
            interest_rate=Decimal(rate),
        )
        for features, outcome, band, limit, rate in rows
    )
    return ModelInsights(
        window_days=days,
        since=since,
        model_version=model_version,
        policy_version=policy_version,
        drift=drift,
        psi=psi_report,
        fairness=fairness,
    )
