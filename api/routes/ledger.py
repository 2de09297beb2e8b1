"""The ledger feed: the lender's ledger posts customers' transactions here, in batches.

This is the only writer of financial history. It authenticates as a service with
``X-Ledger-Key`` (never a customer's token: a customer who could post transactions could buy a
better risk band), and answers per entry so the ledger can replay a batch after a timeout
without creating anything twice.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Header

from api.deps import ResourcesDep
from api.schemas.ledger import LedgerBatch, LedgerBatchResult
from ecs.ledger.feed import LedgerFeed, authenticate_ledger

LEDGER_PATH = "/v1/ledger/transactions"


async def ledger_service(
    resources: ResourcesDep,
    x_ledger_key: Annotated[str | None, Header(description="The ledger's service key")] = None,
) -> None:
    """A dependency, so an unauthenticated caller is refused before its body is validated."""
    authenticate_ledger(x_ledger_key, resources.settings)


router = APIRouter(prefix="/ledger", tags=["ledger feed"], dependencies=[Depends(ledger_service)])


@router.post(
    "/transactions",
    response_model=LedgerBatchResult,
    summary="Record a batch of the ledger's transactions (service key only)",
    responses={
        401: {"description": "No or wrong X-Ledger-Key"},
        413: {"description": "Body larger than ECS_LEDGER_MAX_BODY_BYTES"},
        422: {"description": "Malformed batch; nothing was recorded"},
    },
)
async def record_transactions(batch: LedgerBatch, resources: ResourcesDep) -> LedgerBatchResult:
    """200 with one result per entry: ``created``, ``duplicate`` (resent, already recorded:
    nothing changed) or ``rejected`` with a ``code`` (unknown customer, implausible date, amount
    or currency, or a ledger id reused for different content). A rejected entry never blocks the
    others; resending the whole batch is always safe.
    """
    feed = LedgerFeed.from_settings(resources.engine, resources.settings)
    outcomes = await asyncio.to_thread(feed.record, batch.transactions)
    return LedgerBatchResult.of(outcomes)
