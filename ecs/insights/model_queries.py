"""The SQL behind the model monitor: grouped risk scores for drift, decision terms for fairness.

Both read the same decision window (``window.py``). Scores are grouped in SQL by (week, model
version, score to 0.001, PSI bin), so the rows returned are at most weeks x versions x ~1,000
however many decisions there are. Feature snapshots are JSON whose field extraction differs per
database; they are read in Python, bounded by the window (a few columns per decision).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlmodel import Session, col

from ecs.db.tables import DecisionRecord
from ecs.domain.emotions import CoolingOff
from ecs.domain.policy import Decision
from ecs.insights.drift import (
    PSI_BINS,
    PSI_INNER_EDGES,
    ModelInsights,
    ScoreGroup,
    psi_report,
    week_bounds,
    weekly_scores,
)
from ecs.insights.fairness import FairnessRow, fairness_report, had_recent_distress
from ecs.insights.window import DecisionWindow

UNKNOWN_MODEL = "unknown"
"""The version shown for scores recorded without one."""


def _score_groups(
    where: list[ColumnElement[bool]], weeks: list[tuple[datetime, datetime]]
) -> Select[tuple[int, str | None, float, int, int, float]]:
    """Scores grouped by (week, model version, score to 0.001, PSI bin) with count and sum.

    The CASE expressions are computed in a subquery and grouped in the outer query, because
    PostgreSQL does not accept a GROUP BY expression whose bound parameters differ from the
    select list's.
    """
    week = case(
        *((col(DecisionRecord.created_at) >= start, i) for i, (start, _) in enumerate(weeks)),
        else_=len(weeks) - 1,
    )
    score = col(DecisionRecord.risk_score)
    bin_ = case(*((score < edge, i) for i, edge in enumerate(PSI_INNER_EDGES)), else_=PSI_BINS - 1)
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


def score_groups(
    session: Session, where: list[ColumnElement[bool]], weeks: list[tuple[datetime, datetime]]
) -> list[ScoreGroup]:
    rows = session.execute(_score_groups(where, weeks))
    return [
        ScoreGroup(
            week=int(week),
            model_version=version or UNKNOWN_MODEL,
            score=float(milli) / 1000,
            psi_bin=int(bin_),
            count=count,
            total=float(total),
        )
        for week, version, milli, bin_, count, total in rows
    ]


def fairness_rows(
    session: Session, where: list[ColumnElement[bool]], rule: CoolingOff
) -> Iterator[FairnessRow]:
    rows = session.execute(
        select(
            col(DecisionRecord.features),
            col(DecisionRecord.outcome),
            col(DecisionRecord.risk_band),
            col(DecisionRecord.credit_limit),
            col(DecisionRecord.interest_rate),
        ).where(*where)
    )
    for features, outcome, band, limit, rate in rows:
        yield FairnessRow(
            distress=had_recent_distress(features or {}, rule),
            approved=outcome == Decision.APPROVED,
            band=band,
            credit_limit=Decimal(limit),
            interest_rate=Decimal(rate),
        )


def model_insights(session: Session, window: DecisionWindow, rule: CoolingOff) -> ModelInsights:
    """Score drift (weekly percentiles, PSI of the last week) and the fairness monitor."""
    where = window.records()
    weeks = week_bounds(window.now, window.since)
    groups = score_groups(session, where, weeks)
    return ModelInsights(
        window_days=window.days,
        since=window.since,
        model_version=window.model_version,
        policy_version=window.policy_version,
        drift=weekly_scores(groups, weeks),
        psi=psi_report(groups, recent_since=weeks[0][0]),
        fairness=fairness_report(fairness_rows(session, where, rule), rule),
    )
