"""The SQL behind credit insights: outcomes, bands, limits and reasons of one decision window,
and the review backlog.

Counts and sums are grouped in SQL; limits are grouped by value (the policy floors them to 50,
so distinct values are few) and bucketed in Python, one code path for both databases. Reason
codes are a JSON array whose unnesting differs per database (``json_each`` vs
``jsonb_array_elements``), so they are counted in Python over the window only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, case, func, select
from sqlmodel import Session, col

from ecs.db.tables import CreditDecision, DecisionRecord
from ecs.domain.policy import Decision
from ecs.domain.status import DecisionStatus
from ecs.insights.credit import (
    BandRow,
    CreditInsights,
    band_stats,
    histogram,
    outcomes_by_day,
    reason_counts,
    weighted_mean,
)
from ecs.insights.measures import ratio
from ecs.insights.window import DecisionWindow

_APPROVED = col(DecisionRecord.outcome) == Decision.APPROVED


def _by_outcome(session: Session, where: list[ColumnElement[bool]]) -> dict[str, int]:
    rows = session.execute(
        select(col(DecisionRecord.outcome), func.count())
        .where(*where)
        .group_by(col(DecisionRecord.outcome))
    )
    return {outcome: count for outcome, count in sorted(rows)}


def _bands(session: Session, where: list[ColumnElement[bool]]) -> list[BandRow]:
    rows = session.execute(
        select(
            col(DecisionRecord.risk_band),
            func.count(),
            func.sum(case((_APPROVED, 1), else_=0)),
            func.sum(case((_APPROVED, col(DecisionRecord.interest_rate)), else_=None)),
        )
        .where(*where)
        .group_by(col(DecisionRecord.risk_band))
    )
    return [
        BandRow(band, count, int(approved or 0), Decimal(rate_sum or 0))
        for band, count, approved, rate_sum in rows
    ]


def _approved_limits(
    session: Session, where: list[ColumnElement[bool]]
) -> list[tuple[Decimal, int]]:
    rows = session.execute(
        select(col(DecisionRecord.credit_limit), func.count())
        .where(*where, _APPROVED)
        .group_by(col(DecisionRecord.credit_limit))
    )
    return [(Decimal(limit), count) for limit, count in rows]


def _aware(value: datetime | str | None) -> datetime | None:
    """Aggregates (MIN) bypass the column type's result processing, so SQLite returns a naive
    value (or a string); normalise to aware UTC like every other timestamp of the API."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _days(session: Session, where: list[ColumnElement[bool]]) -> list[tuple[datetime, str]]:
    """Timestamps and outcomes of the window's records, bucketed by day in Python: date
    truncation differs per database, and the window bounds the rows (two columns each)."""
    rows = session.execute(
        select(col(DecisionRecord.created_at), col(DecisionRecord.outcome)).where(*where)
    )
    return [(created_at, outcome) for created_at, outcome in rows]


def _versions(session: Session, window: DecisionWindow) -> tuple[list[str], list[str]]:
    """Model and policy versions seen in the window regardless of the version filters, so a
    dashboard can offer them as choices."""
    unfiltered = DecisionWindow(window.days, window.now).records()
    rows = session.execute(
        select(col(DecisionRecord.model_version), col(DecisionRecord.policy_version))
        .where(*unfiltered)
        .distinct()
    ).all()
    models = sorted({m for m, _ in rows if m is not None})
    policies = sorted({p for _, p in rows if p is not None})
    return models, policies


def credit_insights(session: Session, window: DecisionWindow) -> CreditInsights:
    """The model's decisions in the window; the review backlog is all time."""
    where = window.records()
    by_outcome = _by_outcome(session, where)
    total = sum(by_outcome.values())
    bands, unbanded = band_stats(_bands(session, where))
    limits = _approved_limits(session, where)
    reasons = session.execute(select(col(DecisionRecord.reason_codes)).where(*where)).scalars()
    backlog, oldest = session.execute(
        select(func.count(), func.min(col(CreditDecision.requested_at))).where(
            col(CreditDecision.status) == DecisionStatus.REFERRED
        )
    ).one()
    models, policies = _versions(session, window)
    return CreditInsights(
        window_days=window.days,
        since=window.since,
        model_version=window.model_version,
        policy_version=window.policy_version,
        decisions=total,
        by_outcome=by_outcome,
        approval_rate=ratio(by_outcome.get(Decision.APPROVED, 0), total),
        unbanded=unbanded,
        bands=bands,
        approved_limits=sum(c for _, c in limits),
        avg_approved_limit=weighted_mean(limits),
        limit_histogram=histogram(limits),
        reason_codes=reason_counts(reasons, total),
        referred_backlog=backlog,
        oldest_referred_at=_aware(oldest),
        by_day=outcomes_by_day(_days(session, where)),
        model_versions=models,
        policy_versions=policies,
    )
