"""A credit line's re-evaluation history and the answer to an offered increase."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

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
    old_limit: Decimal
    new_limit: Decimal
    old_rate: Decimal
    new_rate: Decimal
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

    credit_limit: Decimal
    interest_rate: Decimal
