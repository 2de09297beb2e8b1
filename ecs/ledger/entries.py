"""What the ledger sends (one entry per money movement) and what it is told about each entry.

Strict on purpose: amounts are canonical decimal strings of ASCII digits (``"1250.00"``), because
lax coercion changes meaning (``1_000.00``, Arabic-Indic digits and JSON floats all parsed as
numbers before). A malformed batch is refused whole (422) since it means a broken feed; a
well-formed entry that breaks a plausibility rule is refused alone, with a code the ledger's
operators can act on.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

_AMOUNT_PATTERN = r"^[0-9]{1,12}\.[0-9]{2}$"  # [0-9], not \d: only ASCII digits
_AMOUNT = re.compile(_AMOUNT_PATTERN)


def _canonical_amount(value: Any) -> Decimal:
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        raise ValueError("amount must be a string of ASCII digits with two decimals, e.g. '12.50'")
    return Decimal(value)


Amount = Annotated[
    Decimal,
    BeforeValidator(_canonical_amount),
    WithJsonSchema({"type": "string", "pattern": _AMOUNT_PATTERN, "examples": ["125.50"]}),
]
LedgerId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        description="The ledger's own transaction id; resending it is a no-op",
        examples=["tx-2026-000123"],
    ),
]


class LedgerTransaction(BaseModel):
    """One transaction as the ledger records it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "ledger_id": "tx-2026-000123",
                    "user_id": "5f0c6f7e-2b8a-4c1d-9e3f-7a6b5c4d3e21",
                    "amount": "4200.00",
                    "currency": "BRL",
                    "direction": "in",
                    "occurred_at": "2026-11-28T09:00:00Z",
                    "description": "Salary",
                }
            ]
        },
    )

    ledger_id: LedgerId
    user_id: uuid.UUID
    amount: Amount
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["BRL"])]
    direction: Literal["in", "out"]
    occurred_at: AwareDatetime
    description: str | None = Field(default=None, max_length=200)


class Status(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Refusal(StrEnum):
    """Why one entry was not recorded; the value is the stable code the ledger branches on."""

    UNKNOWN_USER = "unknown-user"
    BEFORE_LEDGER = "before-ledger-start"
    BEFORE_ACCOUNT = "before-account"
    IN_FUTURE = "in-future"
    OUT_OF_RANGE = "occurred-at-out-of-range"
    AMOUNT_OUT_OF_BOUNDS = "amount-out-of-bounds"
    CURRENCY = "currency-not-accepted"
    LEDGER_ID_REUSED = "ledger-id-reused"


@dataclass(frozen=True)
class Outcome:
    ledger_id: str
    status: Status
    transaction_id: uuid.UUID | None = None
    refusal: Refusal | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Account:
    """What the rules need to know about the entry's customer."""

    user_id: uuid.UUID
    created_at: datetime
