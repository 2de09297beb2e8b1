"""The tables the account services read and delete by user, as SQLAlchemy Core handles.

Core, not ORM: erasure and consent withdrawal delete in bulk, and the export streams rows as
mappings without building an object per reading.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlmodel import Session

from ecs.db.tables import (
    CreditAccount,
    CreditDecision,
    DecisionRecord,
    EmotionDaily,
    EmotionEvent,
    Notification,
    Offer,
    Transaction,
    User,
)

EVENTS: Any = EmotionEvent.__table__  # type: ignore[attr-defined]
DAILY: Any = EmotionDaily.__table__  # type: ignore[attr-defined]
USERS: Any = User.__table__  # type: ignore[attr-defined]
TRANSACTIONS: Any = Transaction.__table__  # type: ignore[attr-defined]
NOTIFICATIONS: Any = Notification.__table__  # type: ignore[attr-defined]
DECISIONS: Any = CreditDecision.__table__  # type: ignore[attr-defined]
RECORDS: Any = DecisionRecord.__table__  # type: ignore[attr-defined]
OFFERS: Any = Offer.__table__  # type: ignore[attr-defined]
ACCOUNTS: Any = CreditAccount.__table__  # type: ignore[attr-defined]


def delete_rows(session: Session, table: Any, user_id: uuid.UUID) -> int:
    """Delete the user's rows of ``table``; how many went (``Session.execute`` is typed as
    returning a plain ``Result``, hence the cast)."""
    statement = delete(table).where(table.c.user_id == user_id)
    result = cast("CursorResult[Any]", session.execute(statement))
    return int(result.rowcount or 0)


def delete_emotions(session: Session, user_id: uuid.UUID) -> tuple[int, int]:
    """Raw readings and daily aggregates: what consent withdrawal and erasure both remove."""
    return delete_rows(session, EVENTS, user_id), delete_rows(session, DAILY, user_id)
