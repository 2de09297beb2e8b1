"""Request and response models of the ledger feed (``POST /v1/ledger/transactions``).

The entry type is ``ecs.ledger.entries.LedgerTransaction`` itself, so the wire contract and the
service's input cannot drift apart; this module adds the batch envelope and the per-entry answer.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import EXAMPLE_USER_ID, examples
from ecs.ledger.entries import LedgerTransaction, Outcome, Refusal, Status

_CREATED = {
    "ledger_id": "tx-2026-000123",
    "status": "created",
    "transaction_id": "0e7d5c3b-9a8f-4e6d-b5c4-a3f2e1d0c9b8",
    "code": None,
    "detail": None,
}
_REJECTED = {
    "ledger_id": "tx-2026-000124",
    "status": "rejected",
    "transaction_id": None,
    "code": "in-future",
    "detail": "occurred_at is in the future",
}


class LedgerBatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "transactions": [
                        {
                            "ledger_id": "tx-2026-000123",
                            "user_id": EXAMPLE_USER_ID,
                            "amount": "4200.00",
                            "currency": "BRL",
                            "direction": "in",
                            "occurred_at": "2026-11-28T09:00:00Z",
                            "description": "Salary",
                        },
                        {
                            "ledger_id": "tx-2026-000124",
                            "user_id": EXAMPLE_USER_ID,
                            "amount": "89.90",
                            "currency": "BRL",
                            "direction": "out",
                            "occurred_at": "2026-11-29T19:42:10Z",
                            "description": None,
                        },
                    ]
                }
            ]
        },
    )

    transactions: list[LedgerTransaction] = Field(
        min_length=1, description="Up to ECS_LEDGER_MAX_BATCH entries (default 1000)"
    )


class LedgerOutcome(BaseModel):
    model_config = examples(_CREATED, _REJECTED)

    ledger_id: str
    status: Status = Field(description="created | duplicate (already recorded) | rejected")
    transaction_id: uuid.UUID | None = None
    code: Refusal | None = Field(default=None, description="Why a rejected entry was refused")
    detail: str | None = None

    @classmethod
    def of(cls, outcome: Outcome) -> LedgerOutcome:
        return cls(
            ledger_id=outcome.ledger_id,
            status=outcome.status,
            transaction_id=outcome.transaction_id,
            code=outcome.refusal,
            detail=outcome.detail,
        )


class LedgerBatchResult(BaseModel):
    """Counts first, then one result per entry in the order sent."""

    model_config = examples(
        {"created": 1, "duplicates": 0, "rejected": 1, "results": [_CREATED, _REJECTED]}
    )

    created: int
    duplicates: int
    rejected: int
    results: list[LedgerOutcome]

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> LedgerBatchResult:
        def count(status: Status) -> int:
            return sum(o.status is status for o in outcomes)

        return cls(
            created=count(Status.CREATED),
            duplicates=count(Status.DUPLICATE),
            rejected=count(Status.REJECTED),
            results=[LedgerOutcome.of(o) for o in outcomes],
        )
