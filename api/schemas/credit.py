"""Response and request models of credit decisions, offers and analyst reviews.

The views themselves are built in ``ecs.credit.views`` (one mapper for the live and the stored
path); these models are only their JSON shape: money and rates as full-scale strings, and the
allow-list of fields a client may see (a review item adds the user id, for analysts only).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, Self

from pydantic import Field, model_validator

from api.schemas import (
    EXAMPLE_DECIDED_AT,
    EXAMPLE_DECISION_ID,
    EXAMPLE_EXPIRES_AT,
    EXAMPLE_OFFER_ID,
    EXAMPLE_REQUESTED_AT,
    EXAMPLE_USER_ID,
    Money,
    MoneyOut,
    Rate,
    RateOut,
    _Public,
    _Request,
    examples,
)
from ecs.contracts import CreditTypeName
from ecs.domain.status import DecisionStatus, OfferStatus

_OFFER = {
    "id": EXAMPLE_OFFER_ID,
    "credit_limit": "7500.00",
    "interest_rate": "0.1850",
    "credit_type": "SHORT_TERM",
    "expires_at": EXAMPLE_EXPIRES_AT,
    "status": "OPEN",
}
_OFFERED = {
    "id": EXAMPLE_DECISION_ID,
    "status": "OFFERED",
    "approved": True,
    "risk_score": 0.2314,
    "risk_band": "B",
    "credit_limit": "7500.00",
    "interest_rate": "0.1850",
    "credit_type": "SHORT_TERM",
    "reason_codes": ["LOW_NET_CASH_FLOW", "SHORT_ACCOUNT_HISTORY"],
    "offer": _OFFER,
    "cooling_off_until": None,
    "model_version": "scorecard-1.0.1",
    "policy_version": "policy-2026.11.1",
    "requested_at": EXAMPLE_REQUESTED_AT,
    "updated_at": EXAMPLE_DECIDED_AT,
    "source": "workflow",
}
_REFERRED = {
    "id": "9a4c6e8f-0b2d-4f1a-8c3e-5d7f9b1a3c5e",
    "status": "REFERRED",
    "approved": None,
    "risk_score": None,
    "risk_band": None,
    "credit_limit": None,
    "interest_rate": None,
    "credit_type": None,
    "reason_codes": ["MODEL_UNAVAILABLE"],
    "offer": None,
    "cooling_off_until": None,
    "model_version": None,
    "policy_version": "policy-2026.11.1",
    "requested_at": "2026-12-02T13:41:07.915000Z",
    "updated_at": "2026-12-02T13:41:15.002000Z",
    "source": "database",
}


class OfferPublic(_Public):
    model_config = examples(_OFFER)

    id: uuid.UUID
    credit_limit: MoneyOut
    interest_rate: RateOut
    credit_type: CreditTypeName
    expires_at: datetime
    status: OfferStatus | None = Field(default=None, description="OPEN, ACCEPTED, DEPLOYED, ...")


class DecisionPublic(_Public):
    """A credit decision as the customer sees it (from the live workflow or the database).

    ``approved`` is true for an approval, false for a denial and null while undecided (PENDING,
    COOLING_OFF before scoring, REFERRED to an analyst). The terms (``credit_limit``,
    ``interest_rate``, ``credit_type``) exist only for an approval; otherwise they are null.
    """

    model_config = examples(_OFFERED, _REFERRED)

    id: uuid.UUID
    status: DecisionStatus
    approved: bool | None = None
    risk_score: float | None = None
    risk_band: str | None = None
    credit_limit: MoneyOut | None = None
    interest_rate: RateOut | None = None
    credit_type: CreditTypeName | None = None
    reason_codes: list[str] = []
    offer: OfferPublic | None = None
    cooling_off_until: datetime | None = None
    model_version: str | None = None
    policy_version: str | None = None
    requested_at: datetime | None = None
    updated_at: datetime | None = None
    source: Literal["workflow", "database"] = Field(
        description="'workflow' when answered live by the running workflow, 'database' when read "
        "from the decision records (closed workflow or workflow engine unreachable)."
    )


class DecisionActionResult(_Public):
    """Answer to accept/decline/review: the action took effect (now, or on an earlier attempt
    of the same request); its effects follow asynchronously."""

    model_config = examples({"decision_id": EXAMPLE_DECISION_ID, "status": "ACCEPTED"})

    decision_id: uuid.UUID
    status: DecisionStatus


class DeclineBody(_Request):
    model_config = examples({"reason": "I found a better rate elsewhere"})

    reason: str | None = Field(default=None, max_length=500)


class ReviewQueueItem(DecisionPublic):
    """A decision waiting for an analyst: why (``queue_reason``) and by when."""

    model_config = examples(
        dict(
            _REFERRED,
            user_id=EXAMPLE_USER_ID,
            queue_reason="REFERRED",
            review_due_at="2026-12-04T13:41:15.002000Z",
            escalated_at=None,
        )
    )

    user_id: uuid.UUID
    queue_reason: DecisionStatus = Field(
        description="REFERRED (by the model or the policy) or CONTESTED (by the customer)"
    )
    review_due_at: datetime | None = None
    escalated_at: datetime | None = Field(
        default=None, description="Set once the review passed its deadline (listed first)"
    )


class ReviewCreate(_Request):
    """An analyst's resolution; approving needs the full terms, since no model produced them."""

    model_config = examples(
        {
            "approve": True,
            "comment": "Stable salary for 14 months; the model was down, not the customer.",
            "credit_limit": "5000.00",
            "interest_rate": "0.2100",
            "credit_type": "SHORT_TERM",
        },
        {"approve": False, "comment": "Income does not cover the requested exposure."},
    )

    approve: bool
    comment: str = Field(min_length=3, max_length=2000)
    credit_limit: Money | None = None
    interest_rate: Rate | None = None
    credit_type: CreditTypeName | None = None

    @model_validator(mode="after")
    def _terms_when_approving(self) -> Self:
        if self.approve:
            missing = [
                name
                for name in ("credit_limit", "interest_rate", "credit_type")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"approving needs {', '.join(missing)}")
        return self
