"""A credit line's re-evaluation history and the answer to an offered increase.

Amounts and rates are strings with two and four decimals, as on ``GET /v1/me/credit``: an
accept's answer comes back from the workflow as JSON, where ``17500.00`` had become ``17500``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from api.schemas import MoneyOut, RateOut

CHANGE_EXAMPLE: dict[str, Any] = {
    "kind": "DECREASE_NOTICED",
    "old_limit": "5000.00",
    "new_limit": "3600.00",
    "old_rate": "0.1890",
    "new_rate": "0.1890",
    "effective_at": "2027-01-01T14:00:00Z",
    "created_at": "2026-12-02T14:00:00Z",
    "policy_version": "policy-2026.11.1",
    "model_version": "scorecard-1",
}


class CreditLineChangePublic(BaseModel):
    """One append-only step of a re-evaluation (``effective_at``: when it takes or took effect,
    or, for an offered increase, until when it can be accepted)."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [CHANGE_EXAMPLE]}
    )

    kind: str
    old_limit: MoneyOut
    new_limit: MoneyOut
    old_rate: RateOut
    new_rate: RateOut
    effective_at: datetime | None
    created_at: datetime
    policy_version: str
    model_version: str | None


class CreditLineChanges(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"account_id": str(uuid.UUID(int=1)), "items": [CHANGE_EXAMPLE]}]
        }
    )

    account_id: uuid.UUID
    items: list[CreditLineChangePublic]


class CreditLineTerms(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"credit_limit": "3600.00", "interest_rate": "0.1890"}]}
    )

    credit_limit: MoneyOut
    interest_rate: RateOut
