"""What ``CreditLineReviewWorkflow`` calls: its input, its activities' names and messages.

Pure (pydantic and temporalio only) because the workflow sandbox imports it; the implementation
is ``activities.credit_lines``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from temporalio import activity

from ecs.domain.features import Features
from ecs.risk.model import RiskScore

WORKFLOW_NAME = "CreditLineReviewWorkflow"
WORKFLOW_ID_PREFIX = "credit-line-review"
REEVALUATION_PATCH = "proactive-credit-line-reevaluation"
"""``ProactiveOffersWorkflow`` also starts reviews from this patch on (older runs replay)."""


def review_workflow_id(account_id: str, run_id: str) -> str:
    """One review per (line, schedule run): a retried start never makes a second one."""
    return f"{WORKFLOW_ID_PREFIX}:{account_id}:{run_id}"


class ChangeKind(StrEnum):
    NO_CHANGE = "NO_CHANGE"
    FLAGGED = "FLAGGED"  # the policy denies now: no automatic cut, an analyst looks
    DECREASE_NOTICED = "DECREASE_NOTICED"
    DECREASE_APPLIED = "DECREASE_APPLIED"
    INCREASE_OFFERED = "INCREASE_OFFERED"
    INCREASE_APPLIED = "INCREASE_APPLIED"
    INCREASE_EXPIRED = "INCREASE_EXPIRED"
    SUPERSEDED = "SUPERSEDED"  # the line was replaced or closed before the change applied


PENDING_KINDS = (ChangeKind.DECREASE_NOTICED, ChangeKind.INCREASE_OFFERED)
CLOSING_KINDS = (
    ChangeKind.DECREASE_APPLIED,
    ChangeKind.INCREASE_APPLIED,
    ChangeKind.INCREASE_EXPIRED,
    ChangeKind.SUPERSEDED,
)


class _Msg(BaseModel):
    model_config = ConfigDict(frozen=True, protected_namespaces=())


class ReviewInput(_Msg):
    account_id: str  # the credit account's key: its owner's user id


class DueInput(_Msg):
    limit: int | None = None
    account_ids: list[str] | None = None  # a cohort run (``ProactiveInput.user_ids``)


class ProposeInput(_Msg):
    account_id: str
    features: Features
    score: RiskScore | None


class Proposal(_Msg):
    """The policy's verdict on the line, with the settings the workflow waits on."""

    kind: ChangeKind  # NO_CHANGE, FLAGGED, DECREASE_NOTICED or INCREASE_OFFERED
    old_limit: Decimal
    new_limit: Decimal
    old_rate: Decimal
    new_rate: Decimal
    offer_id: str  # the line's current offer: a change applies only to the line it was made on
    policy_version: str
    model_version: str | None
    notice_seconds: float
    offer_seconds: float


class RecordInput(_Msg):
    account_id: str
    kind: ChangeKind
    proposal: Proposal
    effective_at: datetime | None = None


class ApplyResult(_Msg):
    applied: bool  # False: the line changed under the review (superseded), nothing applied
    credit_limit: Decimal
    interest_rate: Decimal


class LineNotice(_Msg):
    account_id: str
    kind: str
    title: str
    body: str
    data: dict[str, str]


class AcceptIncrease(_Msg):
    """The customer's acceptance of an offered increase (the update's argument)."""


class CreditLines(ABC):
    @activity.defn
    @abstractmethod
    def select_due_lines(self, inp: DueInput) -> list[str]:
        """Account ids due for re-evaluation, at most the run's bound, least recently first."""

    @activity.defn
    @abstractmethod
    def propose_terms(self, inp: ProposeInput) -> Proposal | None:
        """The policy applied to the fresh history, compared with the line (None: no line)."""

    @activity.defn
    @abstractmethod
    def record_change(self, inp: RecordInput) -> None:
        """Append one change row, once per (workflow, kind)."""

    @activity.defn
    @abstractmethod
    def apply_change(self, inp: RecordInput) -> ApplyResult:
        """Set the line's limit and rate and append the row, in one transaction, once."""

    @activity.defn
    @abstractmethod
    def notify_line(self, inp: LineNotice) -> None:
        """One inbox row per (review, kind), then the live event."""
