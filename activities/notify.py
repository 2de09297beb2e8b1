"""``notify``: the in-app inbox row (the system of record), then the live event, then a push.

Idempotent per (decision, kind): a retry finds the row and at most re-publishes and re-pushes,
which is harmless (event streams skip a ``seq`` they already sent; a push is only a nudge). The
event is published after the commit, so a stream never announces a row it cannot read back.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Engine
from temporalio import activity

from activities.interface import Notifications
from activities.messages import NotifyInput
from activities.notifications import PushMessage, PushProvider
from ecs.db.tables import Notification
from ecs.logs import log_context
from ecs.notifications import inbox
from ecs.notifications.events import EventPublisher, InboxEvent


class NotifyActivities(Notifications):
    def __init__(
        self, engine: Engine, push: PushProvider, events: EventPublisher | None = None
    ) -> None:
        self.engine = engine
        self.push = push
        self.events = events  # None: no live delivery; streams still catch up from the inbox

    @activity.defn
    def notify(self, inp: NotifyInput) -> None:
        """Write the in-app inbox row once, publish it live, then push."""
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            row = inbox.append(self.engine, new_notification(inp))
            deliver(row, inp, self.events, self.push)


def new_notification(inp: NotifyInput) -> inbox.NewNotification:
    return inbox.NewNotification(
        user_id=uuid.UUID(inp.user_id),
        dedup_key=inp.dedup_key,
        kind=inp.kind,
        title=inp.title,
        body=inp.body,
        data=inp.data,
        decision_id=uuid.UUID(inp.decision_id),
    )


def deliver(
    row: Notification, inp: NotifyInput, events: EventPublisher | None, push: PushProvider
) -> None:
    """After the row's commit: the live event (a stream never announces a row it cannot read
    back), then the push."""
    if events is not None:
        events.publish(InboxEvent.of(row))
    push.send(PushMessage(inp.user_id, inp.title, inp.body, inp.dedup_key))
