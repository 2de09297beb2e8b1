"""Inputs and outputs of the activities: the only data that crosses into workflow history.

Kept small on purpose (features, not raw transactions) because everything here is persisted,
encrypted, in Temporal's history for the life of the workflow.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ecs.contracts import ConfirmRequest, OfferView, ReviewRequest
from ecs.domain.emotions import CoolingOff
from ecs.domain.features import Features
from ecs.domain.policy import PolicyOutcome
from ecs.domain.status import DecisionStatus, RecordKind
from ecs.risk.model import RiskScore


class _Msg(BaseModel):
    model_config = ConfigDict(frozen=True, protected_namespaces=())


class FetchHistoryInput(_Msg):
    user_id: str
    as_of: datetime


class ApproveInput(_Msg):
    """Apply the policy and persist the decision record (+ offer) in one transaction."""

    decision_id: str
    user_id: str
    features: Features
    score: RiskScore | None
    score_error: str | None = None
    offer_expires_at: datetime
    cooling_off: CoolingOff  # the decision's rule: the one its workflow pauses on
    review: ReviewRequest | None = None
    prior: PolicyOutcome | None = None  # the automated outcome a review resolves
    confirmation: ConfirmRequest | None = None  # four-eyes: the second analyst who confirmed
    proposal_sequence: int = 0  # ...and the sequence of the proposal they confirmed
    review_due_at: datetime | None = None  # when a REFERRED outcome's review is overdue


class ApprovalResult(_Msg):
    outcome: PolicyOutcome
    offer: OfferView | None


class StatusInput(_Msg):
    decision_id: str
    status: DecisionStatus


class SettleInput(_Msg):
    decision_id: str
    offer_id: str
    outcome: Literal["ACCEPTED", "DECLINED", "EXPIRED"]


class DeployResult(_Msg):
    credit_limit: Decimal
    interest_rate: Decimal
    credit_type: str
    activated_at: datetime
    newly_deployed: bool


class NotifyInput(_Msg):
    user_id: str
    decision_id: str
    kind: str
    title: str
    body: str
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        """One notification per decision and kind, however often the activity is retried."""
        return f"{self.decision_id}:{self.kind}"


class DeployInput(_Msg):
    decision_id: str
    offer_id: str
    user_id: str
    # The app's "credit active" notification, recorded in the deployment's own transaction
    # (``accept_and_deploy``); None: the workflow sends it with ``notify`` (before the patch).
    notice: NotifyInput | None = None


class HistorySnapshot(_Msg):
    features: Features
    latest_emotion_at: datetime | None = None


class ContestInput(_Msg):
    """Open a contest: its record, status CONTESTED and the review's deadline, in one commit."""

    decision_id: str
    user_id: str
    reason: str
    review_due_at: datetime


class ReviewStepInput(_Msg):
    """One step of a four-eyes review: an analyst's proposal, or the second analyst's answer."""

    decision_id: str
    user_id: str
    kind: Literal[RecordKind.PROPOSAL, RecordKind.CONFIRMATION]
    sequence: int
    outcome: str  # PROPOSAL: APPROVED; CONFIRMATION: REJECTED (a confirmation is ``approve``'s)
    reviewer_id: str
    comment: str
    proposer_id: str | None = None  # CONFIRMATION: who proposed (the confirmer must differ)
    credit_limit: Decimal | None = None
    interest_rate: Decimal | None = None
    credit_type: str | None = None
    status: DecisionStatus  # where the decision stands after this step


class EscalateInput(_Msg):
    decision_id: str
    user_id: str
    status: DecisionStatus
    review_due_at: datetime
