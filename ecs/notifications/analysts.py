"""Telling every analyst: one inbox row each, idempotent on its own key, published live.

Used where a case needs a person and nobody may have seen it: a review past its deadline, a
credit line the re-evaluation flagged instead of cutting. Analysts read their inbox and live
stream like any user (``/v1/me/notifications``, ``/v1/me/events``). The rows carry the subject's
ids in ``data`` only: an analyst's row must not hold a foreign key to a customer's decision,
which erasing the customer deletes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ecs.db.tables import User
from ecs.domain.status import Role
from ecs.notifications import inbox
from ecs.notifications.events import EventPublisher, InboxEvent


def notify_analysts(
    engine: Engine,
    events: EventPublisher | None,
    *,
    key: str,
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any],
) -> int:
    """One row per active analyst (``<key>:<kind>:<analyst>``); returns how many were told."""
    with Session(engine) as session:
        analysts = session.exec(
            select(User.id).where(User.role == Role.ANALYST, col(User.erased_at).is_(None))
        ).all()
    for analyst_id in analysts:
        row = inbox.append(
            engine,
            inbox.NewNotification(
                user_id=analyst_id,
                dedup_key=f"{key}:{kind}:{analyst_id}",
                kind=kind,
                title=title,
                body=body,
                data=data,
            ),
        )
        if events is not None:
            events.publish(InboxEvent.of(row))
    return len(analysts)
