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

from api.schemas import Money, MoneyOut, Rate, RateOut, _Public, _Request
from ecs.contracts import CreditTypeName
from ecs.domain.status import DecisionStatus, OfferStatus


class OfferPublic(_Public):
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

    decision_id: uuid.UUID
    status: DecisionStatus


class DeclineBody(_Request):
    reason: str | None = Field(default=None, max_length=500)


class ReviewQueueItem(DecisionPublic):
    user_id: uuid.UUID


class ReviewCreate(_Request):
    """An analyst's resolution; approving needs the full terms, since no model produced them."""

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
