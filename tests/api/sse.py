"""A small Server-Sent Events reader for the tests: real HTTP, parsed line by line."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    id: int
    data: dict[str, Any]


class EventReader:
    """Reads the stream in a task of its own, so a timed-out wait never cuts the stream."""

    def __init__(self, response: httpx.Response) -> None:
        self.comments: list[str] = []
        self.first_line: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump(response))

    async def next_event(self, timeout: float) -> Event:
        """The next event (comments are collected aside); fails after ``timeout`` seconds."""
        event = await asyncio.wait_for(self._events.get(), timeout)
        if event is None:
            raise AssertionError("the event stream ended")
        return event

    async def events(self, count: int, timeout: float) -> list[Event]:
        return [await self.next_event(timeout) for _ in range(count)]

    async def silent_for(self, seconds: float) -> bool:
        """True when no event arrives within ``seconds`` (comments do not count)."""
        await asyncio.sleep(seconds)  # poll: the observation window itself, not a wait for a state
        return self._events.empty()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _pump(self, response: httpx.Response) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in response.aiter_lines():
                if not self.first_line.done():
                    self.first_line.set_result(line)
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                elif line == "":
                    if "data" in fields:
                        self._events.put_nowait(
                            Event(int(fields["id"]), json.loads(fields["data"]))
                        )
                    fields = {}
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
        finally:
            self._events.put_nowait(None)


@asynccontextmanager
async def open_events(
    base_url: str, token: str, last_event_id: int | None = None
) -> AsyncIterator[EventReader]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    timeout = httpx.Timeout(30, read=None)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=timeout) as http,
        http.stream("GET", "/v1/me/events", headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = EventReader(response)
        try:
            first = await asyncio.wait_for(reader.first_line, 10)
            assert first.startswith("retry:"), first
            yield reader
        finally:
            await reader.close()
