"""``notify``: the in-app inbox row (the system of record), then a push nudge.

Idempotent per (decision, kind): a retry finds the row and at most re-pushes, which is harmless.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio import activity

from activities.interface import Notifications
from activities.messages import NotifyInput
from activities.notifications import PushMessage, PushProvider
from ecs.db.tables import Notification
from ecs.logs import log_context


class NotifyActivities(Notifications):
    def __init__(self, engine: Engine, push: PushProvider) -> None:
        self.engine = engine
        self.push = push

    @activity.defn
    def notify(self, inp: NotifyInput) -> None:
        """Write the in-app inbox row once, then push; a retry re-pushes at most (harmless)."""
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            with Session(self.engine) as session:
                exists = session.exec(
                    select(Notification.id).where(Notification.dedup_key == inp.dedup_key)
                ).first()
                if exists is None:
                    session.add(
                        Notification(
                            user_id=uuid.UUID(inp.user_id),
                            dedup_key=inp.dedup_key,
                            kind=inp.kind,
                            title=inp.title,
                            body=inp.body,
                            data=inp.data,
                            decision_id=uuid.UUID(inp.decision_id),
                        )
                    )
                    try:
                        session.commit()
                    except IntegrityError:
                        session.rollback()  # a concurrent attempt won; same row either way
            self.push.send(PushMessage(inp.user_id, inp.title, inp.body, inp.dedup_key))
