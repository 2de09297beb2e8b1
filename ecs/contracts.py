"""Messages exchanged with the credit-decision workflow.

Every signal, query and update takes and returns plain JSON through the pydantic data converter,
so the same workflow is driven by the REST API, the `temporal` CLI and the Web UI alike. Only
stdlib, pydantic and the pure domain are imported here because the workflow sandbox imports this
module too.

The name constants are the workflow's names on the wire. The workflow registers its handlers
under them; callers that cannot import the workflow (the API, the stream signaller, benches) use
them, and callers that can use typed references (``handle.query(CreditDecisionWorkflow.status)``).
``DecisionState`` is what a decision remembers; it rides in ``DecisionInput.carried`` when the
workflow continues as new.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ecs.domain.emotions import CoolingOff
from ecs.domain.features import Features
from ecs.domain.policy import PolicyOutcome
from ecs.domain.review import ReviewRules
from ecs.domain.status import DecisionStatus
from ecs.risk.model import RiskScore

WORKFLOW_ID_PREFIX = "credit-decision-"
WORKFLOW_TYPE = "CreditDecisionWorkflow"
SIGNAL_EMOTION = "emotion"
QUERY_STATUS = "status"
UPDATE_ACCEPT = "accept"
UPDATE_DECLINE = "decline"
UPDATE_REVIEW = "review"
UPDATE_CONTEST = "contest"
UPDATE_CONFIRM = "confirm"
UPDATE_WAIT_DECIDED = "wait_decided"
SEARCH_ATTR_STATUS = "CreditStatus"
SEARCH_ATTR_BAND = "RiskBand"

CreditTypeName = Literal["SHORT_TERM", "LONG_TERM"]


def workflow_id_for(decision_id: str) -> str:
    return f"{WORKFLOW_ID_PREFIX}{decision_id}"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


CoolingOffConfig = CoolingOff
"""The cooling-off rule travels in the workflow input: the workflow never reads settings
(determinism). Build it with ``CoolingOff.from_settings``."""


class EmotionSignal(BaseModel):
    """One emotion reading delivered to a running decision (deduplicated by ``event_id``).

    Lenient on purpose (extra keys ignored, most fields optional) so an operator can type
    ``{"event_id": "e1", "stress": 0.95, "intensity": 0.9}`` into the CLI.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(min_length=1, max_length=64)
    stress: float = Field(ge=0, le=1)
    intensity: float = Field(default=0.5, ge=0, le=1)
    positivity: float | None = Field(default=None, ge=0, le=1)
    kind: str = "reading"
    occurred_at: datetime | None = None


class AcceptRequest(_Message):
    user_id: str


class DeclineRequest(_Message):
    user_id: str
    reason: str | None = Field(default=None, max_length=500)


class ReviewRequest(_Message):
    """An analyst's resolution of a REFERRED decision. The comment is mandatory for the audit."""

    reviewer_id: str
    approve: bool
    comment: str = Field(min_length=3, max_length=2000)
    credit_limit: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=2)
    interest_rate: Decimal | None = Field(default=None, gt=0, lt=1, max_digits=7, decimal_places=4)
    credit_type: CreditTypeName | None = None


class ContestRequest(_Message):
    """A customer's request for human review of an automated decision (LGPD Art. 20)."""

    user_id: str
    reason: str = Field(min_length=3, max_length=2000)


class ConfirmRequest(_Message):
    """The second analyst's answer to an approval above the four-eyes limit."""

    reviewer_id: str
    confirm: bool
    comment: str = Field(min_length=3, max_length=2000)


class OfferView(_Message):
    offer_id: str
    credit_limit: Decimal
    interest_rate: Decimal
    credit_type: CreditTypeName
    expires_at: datetime


class DecisionView(_Message):
    """What the ``status`` query returns and what the API renders."""

    decision_id: str
    workflow_id: str
    user_id: str
    status: DecisionStatus
    approved: bool | None = None
    risk_score: float | None = None
    risk_band: str | None = None
    credit_limit: Decimal | None = None
    interest_rate: Decimal | None = None
    credit_type: CreditTypeName | None = None
    reason_codes: list[str] = []
    offer: OfferView | None = None
    cooling_off_until: datetime | None = None
    cooling_off_reason: str | None = None
    emotion_signals_seen: int = 0
    last_emotion_event_id: str | None = None
    model_version: str | None = None
    policy_version: str | None = None
    updated_at: datetime | None = None
    review_error: str | None = None  # why the last review was refused after it was accepted
    review_due_at: datetime | None = None  # while an analyst must act: when it is overdue
    escalated: bool = False  # the review passed its deadline and the analysts were told
    proposal: ReviewRequest | None = None  # CONFIRMING: the approval a second analyst confirms


class DecisionState(BaseModel):
    """Everything a decision remembers, carried whole into the next run on continue-as-new.

    The workflow mutates one instance of this; the ``status`` query and the Web UI summary are
    rendered from it. ``paused_from`` is the status a cooling-off pause returns to; ``seen`` the
    last ``MAX_REMEMBERED_EVENTS`` emotion event ids (at-least-once delivery deduplicated).
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    status: DecisionStatus = DecisionStatus.PENDING
    paused_from: DecisionStatus | None = None
    features: Features | None = None
    score: RiskScore | None = None
    outcome: PolicyOutcome | None = None
    offer: OfferView | None = None
    settlement: Literal["ACCEPTED", "DECLINED"] | None = None
    review: ReviewRequest | None = None
    review_error: str | None = None
    seen: list[str] = []
    signals: int = 0
    last_event_id: str | None = None
    distressed: bool = False
    cooling_off_until: datetime | None = None
    cooling_off_reason: str | None = None
    updated_at: datetime | None = None
    notified: list[str] = []  # notification kinds already sent (not repeated by a later run)
    runs: int = 1  # how many runs this decision has lived through (continue-as-new)
    # Human review (only with ``DecisionInput.review_rules``): contest, deadline, four-eyes.
    reviewed: bool = False  # an analyst decided: the outcome is no longer automated
    contest: ContestRequest | None = None
    contest_pending: bool = False  # the contest update's activity is running
    contest_open_until: datetime | None = None  # a denial can be contested until then
    queue_status: DecisionStatus | None = None  # REFERRED or CONTESTED: where a rejection returns
    review_due_at: datetime | None = None
    escalated: bool = False
    proposal: ReviewRequest | None = None  # an approval above the four-eyes limit
    proposals: int = 0  # how many were made (the sequence of their records)
    confirmation: ConfirmRequest | None = None  # the second analyst's answer, being applied


class DecisionInput(_Message):
    decision_id: str
    user_id: str
    offer_ttl_seconds: int = Field(gt=0)
    cooling_off: CoolingOff
    review_rules: ReviewRules | None = None
    """Contest window, review deadline, four-eyes limit. ``None`` in decisions started before
    human review existed: those run exactly as they were recorded (no contest, no deadline)."""
    carried: DecisionState | None = None
    """Set only by the workflow itself when it continues as new: the state it carries over."""
