"""The user's financial history: the inflows and outflows the credit model reads."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import col, select

from api.deps import SessionDep
from api.schemas import Limit, Offset, Page, TransactionCreate, TransactionPublic
from api.security import CurrentUser
from ecs.db.tables import Transaction

router = APIRouter(prefix="/transactions", tags=["transactions"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TransactionPublic,
    summary="Record a transaction",
)
def create_transaction(
    body: TransactionCreate, user: CurrentUser, session: SessionDep
) -> TransactionPublic:
    row = Transaction(user_id=user.id, **body.model_dump())
    session.add(row)
    session.commit()
    session.refresh(row)
    return TransactionPublic.model_validate(row)


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
