"""Request and response models of the ledger feed (``POST /v1/ledger/transactions``).

The entry type is ``ecs.ledger.entries.LedgerTransaction`` itself, so the wire contract and the
service's input cannot drift apart; this module adds the batch envelope and the per-entry answer.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from ecs.ledger.entries import LedgerTransaction, Outcome, Refusal, Status


class LedgerBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transactions: list[LedgerTransaction] = Field(
        min_length=1, description="Up to ECS_LEDGER_MAX_BATCH entries (default 1000)"
    )


class LedgerOutcome(BaseModel):
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
