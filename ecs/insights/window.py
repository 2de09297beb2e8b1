"""The decision records that credit and model insights read: one window, one rule.

Each decision counts once, by its latest AUTOMATED record made in the window. Analyst REVIEW
records are excluded on purpose: these insights describe what the model and the policy decided,
which is what drift and fairness monitoring must judge.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlmodel import col

from ecs.db.tables import DecisionRecord
from ecs.domain.status import RecordKind


def window_start(now: datetime, days: int) -> datetime:
    """The window is the ``days`` ending now (a rolling window, not calendar days)."""
    return now - timedelta(days=days)


def latest_automated(
    since: datetime, model_version: str | None, policy_version: str | None
) -> list[ColumnElement[bool]]:
    """Conditions selecting the latest AUTOMATED record of each decision made since ``since``,
    optionally only those scored by one model version or made under one policy version."""
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
