"""``GET /v1/me/events``: the caller's notifications as Server-Sent Events, live and resumable.

Every SSE ``id:`` is the notification's per-user ``seq``. On connect the stream first replays
from the inbox (the durable record) everything after ``Last-Event-ID`` (or ``?last_event_id=``,
for a browser's first connect, which cannot set headers), then delivers live what the hub
hands it, skipping any ``seq`` already sent and reading the inbox whenever it sees a gap or a
``RESYNC``. A reconnecting client thus misses nothing and receives nothing twice. Without a
resume point the stream starts after the newest notification (the app lists older ones with
``GET /v1/me/notifications``, whose items carry ``seq``).

A comment line every ``ECS_EVENTS_HEARTBEAT_SECONDS`` keeps proxies from closing an idle
connection, reveals a dead client (the write fails) and doubles as a catch-up read, which bounds
the delay of a notification whose live publish was lost. The response is a plain streaming
body through the pure-ASGI middlewares (no buffering); on shutdown uvicorn cancels it after its
graceful timeout and the client reconnects elsewhere with ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from api.deps import ResourcesDep
from api.security import CurrentUser
from ecs.errors import InvalidInput
from ecs.notifications import inbox
from ecs.notifications.events import InboxEvent
from ecs.notifications.hub import NotificationHub, Stream

router = APIRouter(prefix="/me", tags=["me"])
REPLAY_PAGE = 200
RECONNECT_MS = 2000


class EventStreamResponse(StreamingResponse):
    """Releases the hub's stream however the response ends (even before its first byte)."""

    def __init__(self, body: AsyncIterator[str], hub: NotificationHub, stream: Stream) -> None:
        super().__init__(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self.hub = hub
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.hub.close(self.stream)


@router.get(
    "/events",
    summary="The caller's notifications as Server-Sent Events (resumable with Last-Event-ID)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"},
        429: {"description": "Too many open streams for this user"},
    },
)
async def my_events(
    user: CurrentUser,
    resources: ResourcesDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    resume: Annotated[str | None, Query(alias="last_event_id")] = None,
) -> EventStreamResponse:
    after = _resume_point(last_event_id if last_event_id is not None else resume)
    hub = resources.events
    stream = hub.open(user.id)  # before the replay: nothing committed meanwhile slips between
    try:
        if after is None:
            after = await asyncio.to_thread(_last_seq, resources.engine, user.id)
    except BaseException:
        hub.close(stream)
        raise
    heartbeat = resources.settings.events_heartbeat_seconds
    body = _frames(resources.engine, stream, after, heartbeat)
    return EventStreamResponse(body, hub, stream)


def _resume_point(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        raise InvalidInput("Last-Event-ID must be the id of an event of this stream (a number).")
    return int(raw)


async def _frames(
    engine: Engine, stream: Stream, last: int, heartbeat: float
) -> AsyncIterator[str]:
    yield f"retry: {RECONNECT_MS}\n: connected\n\n"
    while True:
        while True:  # the inbox after ``last``, a page per query however long the absence
            page = await asyncio.to_thread(_page, engine, stream.user_id, last)
            for event in page:
                yield _frame(event)
                last = event.seq
            if len(page) < REPLAY_PAGE:
                break
        while True:
            try:
                item = await asyncio.wait_for(stream.queue.get(), timeout=heartbeat)
            except TimeoutError:
                yield ": heartbeat\n\n"
                break  # catch up from the inbox
            if item is None or item.seq > last + 1:
                break  # RESYNC or a gap: the inbox holds every committed row, in order
            if item.seq == last + 1:
                yield _frame(item)
                last = item.seq


def _frame(event: InboxEvent) -> str:
    data = event.model_dump_json(exclude={"user_id"})
    return f"id: {event.seq}\nevent: notification\ndata: {data}\n\n"


def _page(engine: Engine, user_id: uuid.UUID, seq: int) -> list[InboxEvent]:
    with Session(engine) as session:
        return [InboxEvent.of(row) for row in inbox.after(session, user_id, seq, REPLAY_PAGE)]


def _last_seq(engine: Engine, user_id: uuid.UUID) -> int:
    with Session(engine) as session:
        return inbox.last_seq(session, user_id)
