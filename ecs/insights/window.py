"""The decision records that credit and model insights read: one window, one rule.

Each decision counts once, by its latest AUTOMATED record made in the window. Analyst REVIEW
records are excluded on purpose: these insights describe what the model and the policy decided,
which is what drift and fairness monitoring must judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlmodel import col

from ecs.db.tables import DecisionRecord
from ecs.domain.status import RecordKind


@dataclass(frozen=True)
class DecisionWindow:
    """The ``days`` ending ``now`` (rolling, not calendar days), optionally only the decisions
    scored by one model version and/or made under one policy version."""

    days: int
    now: datetime
    model_version: str | None = None
    policy_version: str | None = None

    @property
    def since(self) -> datetime:
        return self.now - timedelta(days=self.days)

    def records(self) -> list[ColumnElement[bool]]:
        """Conditions selecting the latest AUTOMATED record of each decision in the window."""
        latest = (
            select(func.max(col(DecisionRecord.id)))
            .where(
                col(DecisionRecord.kind) == RecordKind.AUTOMATED,
                col(DecisionRecord.created_at) >= self.since,
            )
            .group_by(col(DecisionRecord.decision_id))
        )
        conditions: list[ColumnElement[bool]] = [col(DecisionRecord.id).in_(latest)]
        if self.model_version is not None:
            conditions.append(col(DecisionRecord.model_version) == self.model_version)
        if self.policy_version is not None:
            conditions.append(col(DecisionRecord.policy_version) == self.policy_version)
        return conditions
