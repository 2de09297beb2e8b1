"""One Redis subscription per API instance, fanned out to the event streams it serves.

Each connected client holds a ``Stream``: a small queue of ``InboxEvent``s for its user, or
``RESYNC`` ("read the inbox, something may have been missed"). The hub subscribes lazily, on the
first stream, and re-subscribes with back-off after any Redis error; every (re)subscription
puts ``RESYNC`` in every queue, because whatever was published while it was not subscribed is
lost to pub/sub but not to the inbox. A queue that overflows (a client slower than its
notifications) is replaced by one ``RESYNC`` for the same reason.

Streams per user are bounded per instance (``ECS_EVENTS_MAX_STREAMS_PER_USER``): an app needs
one or two (phone, tablet); a bug that reconnects in a loop must not hold thousands. Across
instances the bound multiplies by the number of instances, which still bounds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Final

import redis.asyncio as aioredis
from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from ecs.errors import RateLimited
from ecs.notifications.events import InboxEvent

log = logging.getLogger("ecs.notifications")

RESYNC: Final = None
QUEUE_SIZE = 64
MAX_BACKOFF_SECONDS = 5.0

STREAMS = Gauge(
    "ecs_events_streams_open",
    "Event streams (GET /v1/me/events) connected to this instance.",
    multiprocess_mode="livesum",
)
RECEIVED = Counter(
    "ecs_events_received",
    "Notifications received from the Redis channel by this instance.",
)

Item = InboxEvent | None


@dataclass(eq=False)
class Stream:
    user_id: uuid.UUID
    queue: asyncio.Queue[Item] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def offer(self, item: Item) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)


class NotificationHub:
    def __init__(self, redis_url: str, channel: str, max_streams_per_user: int) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.max_streams_per_user = max_streams_per_user
        self._streams: dict[uuid.UUID, set[Stream]] = {}
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def open(self, user_id: uuid.UUID) -> Stream:
        """A new stream for ``user_id``; ``RateLimited`` when the user already has too many."""
        streams = self._streams.setdefault(user_id, set())
        if len(streams) >= self.max_streams_per_user:
            raise RateLimited(
                f"at most {self.max_streams_per_user} event streams per user; close one first",
                code="too-many-streams",
                retry_after=5,
            )
        stream = Stream(user_id)
        streams.add(stream)
        STREAMS.inc()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="events-hub")
        return stream

    def close(self, stream: Stream) -> None:
        """Idempotent: the response and its generator may both close the stream."""
        streams = self._streams.get(stream.user_id)
        if streams is None or stream not in streams:
            return
        streams.discard(stream)
        STREAMS.dec()
        if not streams:
            del self._streams[stream.user_id]

    def open_streams(self) -> int:
        return sum(len(s) for s in self._streams.values())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _dispatch(self, raw: bytes) -> None:
        try:
            event = InboxEvent.model_validate_json(raw)
        except ValidationError:
            log.warning("ignored a malformed message on the events channel")
            return
        RECEIVED.inc()
        for stream in self._streams.get(event.user_id, ()):
            stream.offer(event)

    def _resync_all(self) -> None:
        for streams in self._streams.values():
            for stream in streams:
                stream.offer(RESYNC)

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            client = aioredis.Redis.from_url(
                self.redis_url, socket_connect_timeout=2.0, health_check_interval=15
            )
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    self._resync_all()
                    backoff = 0.1
                    log.info("events hub subscribed", extra={"channel": self.channel})
                    while True:
                        message = await pubsub.get_message(timeout=5.0)
                        if message is not None and message["type"] == "message":
                            self._dispatch(message["data"])
            except Exception as exc:  # whatever broke, keep the instance's live delivery alive
                self.subscribed.clear()
                log.warning("events hub lost Redis; resubscribing", extra={"error": repr(exc)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            finally:
                await client.aclose()
