"""The customer's financial history, read-only: the inflows and outflows the credit model reads.

Customers read their history here but cannot write it: transactions come only from the lender's
ledger through the ledger feed (``api.routes.ledger``). ``POST /v1/transactions`` therefore does
not exist, and answers 405 with ``Allow: GET`` for every caller, whatever the token: the method is
not offered to anyone, which is more than "forbidden to you".
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from api.deps import SessionDep
from api.schemas import Limit, Offset, Page, TransactionPublic
from api.security import CurrentUser
from ecs.db.tables import Transaction

router = APIRouter(prefix="/transactions", tags=["transactions"])


@router.get(
    "",
    response_model=Page[TransactionPublic],
    summary="The caller's transactions, newest first",
)
def list_transactions(
    user: CurrentUser, session: SessionDep, limit: Limit = 50, offset: Offset = 0
) -> Page[TransactionPublic]:
    # Served by ix_transactions_user_time; one extra row tells whether another page exists.
    rows = session.exec(
        select(Transaction)
        .where(Transaction.user_id == user.id)
        .order_by(col(Transaction.occurred_at).desc(), col(Transaction.id).desc())
        .offset(offset)
        .limit(limit + 1)
    ).all()
    return Page[TransactionPublic](
        items=[TransactionPublic.model_validate(r) for r in rows[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )
