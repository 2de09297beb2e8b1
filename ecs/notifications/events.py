"""The live half of the inbox: one Redis pub/sub message per committed notification.

The message carries the whole notification (a few hundred bytes), so an API instance can hand
it to a stream without reading the database. Pub/sub is fire-and-forget: a message published
while an instance is disconnected is lost to it, which is why a stream catches up from the
inbox on every (re)subscription and heartbeat (``ecs.notifications.hub``). Publishing is best
effort for the same reason: a Redis outage delays live delivery, it never fails the workflow
that wrote the row.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, Protocol

import redis
from pydantic import BaseModel, ConfigDict

from ecs.db.tables import Notification

log = logging.getLogger("ecs.notifications")


class InboxEvent(BaseModel):
    """A committed notification, as published and as streamed (``id:`` is ``seq``)."""

    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    seq: int
    id: uuid.UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    decision_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, row: Notification) -> InboxEvent:
        if row.seq is None:
            raise ValueError("a notification has a seq once it is committed")
        return cls.model_validate({**row.model_dump(), "seq": row.seq})


class EventPublisher(Protocol):
    def publish(self, event: InboxEvent) -> None: ...


class RedisEventPublisher:
    """Publishes on ``channel`` with a short timeout; logs, never raises, when Redis is down."""

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self.client = client
        self.channel = channel

    @classmethod
    def from_url(cls, url: str, channel: str) -> RedisEventPublisher:
        return cls(
            redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0), channel
        )

    def publish(self, event: InboxEvent) -> None:
        try:
            self.client.publish(self.channel, event.model_dump_json())
        except redis.RedisError as exc:
            log.warning(
                "notification not published live; streams catch up from the inbox",
                extra={"user_id": str(event.user_id), "seq": event.seq, "error": str(exc)},
            )
