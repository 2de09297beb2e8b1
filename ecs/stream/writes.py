"""The consumer's database writes, held and retried while the database is unavailable.

Two writes, chosen per batch by ``ecs.stream.consumer``: the PostgreSQL fast path
(``ecs.stream.rawstore``: the entries' JSON parsed by PostgreSQL) and the portable path
(``ecs.stream.store``: readings decoded in Python, used by SQLite, by any batch the fast path
cannot judge, and by poison isolation). Both run in a thread, so the event loop keeps serving the
other shards. Connection-level errors (and deadlocks) are waited out with back-off, never
dead-lettered: the data is fine and the database is not. Errors about the data itself
(``is_permanent``) are raised for the isolation to handle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, cast

from sqlalchemy import Engine

from ecs.domain.emotions import CoolingOffThresholds
from ecs.stream.isolation import Entry, is_permanent
from ecs.stream.messages import StreamReading
from ecs.stream.rawstore import RawResult, joined_readings, persist_raw
from ecs.stream.store import PersistResult, persist

log = logging.getLogger("ecs.stream")

MAX_BACKOFF_SECONDS = 5.0
_STOPPED = object()  # a write given up because the consumer is stopping


class Writer:
    def __init__(
        self,
        engine: Engine,
        thresholds: CoolingOffThresholds,
        *,
        stopping: Callable[[], bool],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.engine = engine
        self.thresholds = thresholds
        self._stopping = stopping
        self._sleep = sleep

    async def raw(
        self, entries: list[Entry], max_deliveries: int
    ) -> RawResult | Literal[False] | None:
        """The fast path: its result, ``None`` when the batch needs the portable path, ``False``
        when the consumer is stopping before it succeeded."""
        if any(e.deliveries > max_deliveries for e in entries):
            return None  # triage dead-letters those
        batch = joined_readings([e.fields for e in entries])
        if batch is None:
            return None
        stored = await self._retrying(persist_raw, self.engine, batch, self.thresholds)
        return False if stored is _STOPPED else cast(RawResult | None, stored)

    async def portable(self, readings: Sequence[StreamReading]) -> PersistResult | None:
        """The portable path; ``None`` means "stopped before it succeeded"."""
        stored = await self._retrying(persist, self.engine, readings, self.thresholds)
        return None if stored is _STOPPED else cast(PersistResult, stored)

    async def _retrying(self, write: Callable[..., object], *args: object) -> object:
        backoff = 0.1
        while True:
            try:
                return await asyncio.to_thread(write, *args)
            except Exception as exc:
                if is_permanent(exc):
                    raise
                if self._stopping():
                    log.warning("stopping with an uncommitted batch; it stays pending")
                    return _STOPPED
                log.warning(
                    "database unavailable; holding the batch",
                    extra={"error": f"{type(exc).__name__}: {exc}"[:500], "retry_in": backoff},
                )
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
