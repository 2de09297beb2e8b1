"""The inbox, the durable record of what the app was told: append once, read after a ``seq``.

``append`` is idempotent per ``dedup_key`` (a retried activity finds its row) and numbers rows
per user in commit order (``ecs.db.tables._number_notification``); a race for the same number
is retried here. ``after`` is the replay an event stream does on (re)connect.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from ecs.db.tables import Notification

APPEND_ATTEMPTS = 5


@dataclass(frozen=True)
class NewNotification:
    user_id: uuid.UUID
    dedup_key: str
    kind: str
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)
    decision_id: uuid.UUID | None = None


def append(engine: Engine, new: NewNotification) -> Notification:
    """The committed row for ``new.dedup_key``: inserted now, or found from an earlier attempt."""
    for _ in range(APPEND_ATTEMPTS):
        with Session(engine, expire_on_commit=False) as session:
            row = add_once(session, new)
            try:
                session.commit()
                return row
            except IntegrityError:
                session.rollback()  # same dedup key (found next time) or same seq (renumbered)
    raise RuntimeError(f"could not append notification {new.dedup_key!r}")


def add_once(session: Session, new: NewNotification) -> Notification:
    """The row for ``new.dedup_key`` in the caller's transaction: the one an earlier attempt
    committed, or a new one added to ``session`` (numbered when it is flushed). For a writer
    whose notification must commit with its own change (``accept_and_deploy``)."""
    existing = _by_dedup_key(session, new.dedup_key)
    if existing is not None:
        return existing
    row = Notification(
        user_id=new.user_id,
        dedup_key=new.dedup_key,
        kind=new.kind,
        title=new.title,
        body=new.body,
        data=new.data,
        decision_id=new.decision_id,
    )
    session.add(row)
    return row


def after(session: Session, user_id: uuid.UUID, seq: int, limit: int) -> list[Notification]:
    """The user's notifications numbered above ``seq``, oldest first, at most ``limit``."""
    return list(
        session.exec(
            select(Notification)
            .where(Notification.user_id == user_id, col(Notification.seq) > seq)
            .order_by(col(Notification.seq))
            .limit(limit)
        ).all()
    )


def last_seq(session: Session, user_id: uuid.UUID) -> int:
    """The number of the user's newest notification; 0 when the inbox is empty."""
    value = session.exec(
        select(func.max(Notification.seq)).where(Notification.user_id == user_id)
    ).one()
    return int(value or 0)


def _by_dedup_key(session: Session, dedup_key: str) -> Notification | None:
    return session.exec(select(Notification).where(Notification.dedup_key == dedup_key)).first()
