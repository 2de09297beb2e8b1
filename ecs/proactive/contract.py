"""What the proactive-offers workflow calls: its input, its activities' names and messages.

Pure (pydantic and temporalio only) because the workflow sandbox imports it; the implementation
is ``activities.proactive``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from pydantic import BaseModel, ConfigDict, Field
from temporalio import activity

SCHEDULE_ID = "proactive-offers"
WORKFLOW_ID_PREFIX = "proactive-offers"
WORKFLOW_NAME = "ProactiveOffersWorkflow"


class _Msg(BaseModel):
    model_config = ConfigDict(frozen=True)


class ProactiveInput(_Msg):
    """The schedule's run takes the defaults; an operator may start one by hand (Web UI, CLI)
    for a cohort (``user_ids``) or with another bound (``limit``)."""

    limit: int | None = Field(default=None, gt=0)
    user_ids: list[str] | None = None  # also bounds the credit lines re-evaluated


class SelectInput(_Msg):
    limit: int | None = None
    user_ids: list[str] | None = None


class StartInput(_Msg):
    user_id: str
    idempotency_key: str  # one per (run, user): a retried start returns the same decision


class StartResult(_Msg):
    decision_id: str
    created: bool  # False: the user had a decision under this key (a retry) or an open one


class ProactiveSummary(_Msg):
    selected: int
    started: int
    reviews: int = 0  # credit-line re-evaluations started (ecs.credit_lines)


class Proactive(ABC):
    @activity.defn
    @abstractmethod
    def select_eligible(self, inp: SelectInput) -> list[str]:
        """Ids of eligible users, at most the run's bound, oldest customers first."""

    @activity.defn
    @abstractmethod
    async def start_decision(self, inp: StartInput) -> StartResult:
        """Start the user's credit decision the way ``POST /v1/credit-decisions`` does."""
