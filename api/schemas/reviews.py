"""Shapes of human review: a customer's contest, the analyst's case, the four-eyes confirmation.

The case is the workbench's whole view of one decision (``ecs.credit.review_case``): the feature
snapshot and the model's contributions, the reason codes, the customer's emotional context as
30-day aggregates (never a raw reading), the offer, and every append-only record so far.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas import (
    EXAMPLE_DECIDED_AT,
    EXAMPLE_DECISION_ID,
    EXAMPLE_EXPIRES_AT,
    EXAMPLE_OFFER_ID,
    EXAMPLE_REQUESTED_AT,
    EXAMPLE_USER_ID,
    MoneyOut,
    RateOut,
    _Public,
    _Request,
    examples,
)
from ecs.domain.status import DecisionStatus, OfferStatus, RecordKind

_ANALYST_ID = "c41d2e3f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
_RECORD: dict[str, Any] = {
    "kind": "AUTOMATED",
    "sequence": 0,
    "outcome": "DENIED",
    "reviewer_id": None,
    "comment": None,
    "credit_limit": "0.00",
    "interest_rate": "0.0000",
    "credit_type": None,
    "reason_codes": ["LOW_NET_CASH_FLOW"],
    "created_at": EXAMPLE_DECIDED_AT,
}


class ContestCreate(_Request):
    """Why the customer asks for a human to look at the decision (shown to the analyst)."""

    model_config = examples({"reason": "My salary doubled last month; the ledger shows it."})

    reason: str = Field(min_length=3, max_length=2000)


class ConfirmCreate(_Request):
    """The second analyst's answer to an approval above the four-eyes limit."""

    model_config = examples(
        {"confirm": True, "comment": "Checked the income evidence; the limit is justified."},
        {"confirm": False, "comment": "Exposure too high for a 14-month account."},
    )

    confirm: bool
    comment: str = Field(min_length=3, max_length=2000)


class CaseRecordPublic(_Public):
    model_config = examples(_RECORD)

    kind: RecordKind
    sequence: int
    outcome: str
    reviewer_id: uuid.UUID | None = None
    comment: str | None = None
    credit_limit: MoneyOut
    interest_rate: RateOut
    credit_type: str | None = None
    reason_codes: list[str]
    created_at: datetime


class ContributionPublic(_Public):
    """Log-odds a feature added to the score against a reference applicant (+ is riskier)."""

    model_config = examples({"feature": "net_cash_flow_90d", "log_odds": 0.52})

    feature: str
    log_odds: float


class EmotionContextPublic(_Public):
    model_config = examples(
        {
            "days": 30,
            "readings": 120,
            "distress_readings": 3,
            "mean_stress": 0.41,
            "mean_intensity": 0.52,
        }
    )

    days: int
    readings: int
    distress_readings: int
    mean_stress: float | None = None
    mean_intensity: float | None = None


class CaseOfferPublic(_Public):
    model_config = examples(
        {
            "offer_id": EXAMPLE_OFFER_ID,
            "credit_limit": "5000.00",
            "interest_rate": "0.2100",
            "credit_type": "SHORT_TERM",
            "expires_at": EXAMPLE_EXPIRES_AT,
            "status": "OPEN",
        }
    )

    offer_id: uuid.UUID
    credit_limit: MoneyOut
    interest_rate: RateOut
    credit_type: str
    expires_at: datetime
    status: OfferStatus


class ProposalPublic(_Public):
    model_config = examples(
        {
            "reviewer_id": _ANALYST_ID,
            "credit_limit": "30000.00",
            "interest_rate": "0.1800",
            "credit_type": "LONG_TERM",
            "comment": "Salary verified with the employer.",
            "created_at": EXAMPLE_DECIDED_AT,
        }
    )

    reviewer_id: uuid.UUID | None = None
    credit_limit: MoneyOut
    interest_rate: RateOut
    credit_type: str | None = None
    comment: str | None = None
    created_at: datetime


_CASE: dict[str, Any] = {
    "decision_id": EXAMPLE_DECISION_ID,
    "user_id": EXAMPLE_USER_ID,
    "status": "CONTESTED",
    "queue_reason": "CONTESTED",
    "requested_at": EXAMPLE_REQUESTED_AT,
    "review_due_at": "2026-12-04T14:05:00.000000Z",
    "escalated_at": None,
    "risk_score": 0.71,
    "risk_band": "D",
    "model_version": "scorecard-1.0.1",
    "policy_version": "policy-2026.11.1",
    "reason_codes": ["LOW_NET_CASH_FLOW"],
    "features": {"inflow_30d": 4200.0, "net_cash_flow_90d": -310.5, "latest_stress": 0.4},
    "contributions": [{"feature": "net_cash_flow_90d", "log_odds": 0.52}],
    "emotions": {
        "days": 30,
        "readings": 120,
        "distress_readings": 3,
        "mean_stress": 0.41,
        "mean_intensity": 0.52,
    },
    "offer": None,
    "contest_reason": "My salary doubled last month; the ledger shows it.",
    "proposal": None,
    "four_eyes_limit": "20000.00",
    "records": [_RECORD],
}


class ReviewCasePublic(_Public):
    """One case of the review queue, everything the analyst decides on."""

    model_config = examples(_CASE)

    decision_id: uuid.UUID
    user_id: uuid.UUID
    status: DecisionStatus
    queue_reason: DecisionStatus | None = Field(
        default=None,
        description="REFERRED (by the model or the policy) or CONTESTED (by the customer)",
    )
    requested_at: datetime
    review_due_at: datetime | None = None
    escalated_at: datetime | None = Field(
        default=None, description="Set once the review passed its deadline"
    )
    risk_score: float | None = None
    risk_band: str | None = None
    model_version: str | None = None
    policy_version: str | None = None
    reason_codes: list[str]
    features: dict[str, Any] = Field(description="The feature snapshot the model scored")
    contributions: list[ContributionPublic] = Field(description="Largest effect first")
    emotions: EmotionContextPublic
    offer: CaseOfferPublic | None = None
    contest_reason: str | None = None
    proposal: ProposalPublic | None = Field(
        default=None, description="While CONFIRMING: the approval a second analyst must confirm"
    )
    four_eyes_limit: MoneyOut
    records: list[CaseRecordPublic]
