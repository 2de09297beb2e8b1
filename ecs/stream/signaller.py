"""Coalesced emotion signals to open credit decisions.

Only users with an open decision get signals. *Urgent* readings — acute distress, or any reading
while the decision is in its cooling-off pause (a calm one ends it) — go at most one per user per
``stream_signal_interval_ms``. *Routine* readings (a calm user, an open offer) only keep the
decision's view fresh, so they go at most one per user per ``stream_routine_signal_interval_s``:
an offer stays open for days, and a phone streaming a reading a second would otherwise write
hundreds of thousands of events into one workflow's history (Temporal caps it at ~51k).

Within a window the *most significant* reading wins: the most
distressed one (highest stress, then intensity), or the latest if none is distressed, so a calm
reading never displaces a distress reading. The workflow deduplicates by event id, so the
occasional re-send after a consumer restart is harmless.

Signals are sent after the batch is committed and acknowledged and never hold the stream up:
a decision that has just closed (``NOT_FOUND``) is normal and only logged at debug level, and a
Temporal outage only delays signals (the newest significant reading per user is kept). The
trade-off: a consumer crash between commit and send loses that window's signal; the reading
itself is in the database for the decision's features.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from ecs.clock import Clock, monotonic
from ecs.contracts import SIGNAL_EMOTION, EmotionSignal
from ecs.domain.emotions import CoolingOffThresholds, is_acute_distress
from ecs.stream.messages import StreamReading

log = logging.getLogger("ecs.stream.signals")
RECONNECT_SECONDS = 5.0
MAX_PARALLEL_SIGNALS = 64

ClientFactory = Callable[[], Awaitable[Client]]


@dataclass(frozen=True, slots=True)
class _Candidate:
    reading: StreamReading
    workflow_id: str
    distress: bool
    urgent: bool


def _more_significant(new: _Candidate, old: _Candidate) -> bool:
    if new.urgent != old.urgent:
        return new.urgent
    if new.distress != old.distress:
        return new.distress
    if new.distress:
        return (new.reading.stress, new.reading.intensity) > (
            old.reading.stress,
            old.reading.intensity,
        )
    return new.reading.occurred_at >= old.reading.occurred_at


def to_signal(reading: StreamReading) -> EmotionSignal:
    return EmotionSignal(
        event_id=str(reading.event_id),
        stress=reading.stress,
        intensity=reading.intensity,
        positivity=reading.positivity,
        kind=reading.kind,
        occurred_at=reading.occurred_at,
    )


class Signaller:
    """Owns a background task that flushes due signals; ``offer`` never awaits the network."""

    def __init__(
        self,
        client_factory: ClientFactory,
        thresholds: CoolingOffThresholds,
        interval_ms: int,
        routine_interval_s: float | None = None,
        clock: Clock = monotonic,
    ) -> None:
        self._client_factory = client_factory
        self._clock = clock
        self._thresholds = thresholds
        self._interval = interval_ms / 1000
        self._routine_interval = (
            self._interval
            if routine_interval_s is None
            else max(routine_interval_s, self._interval)
        )
        self._pending: dict[uuid.UUID, _Candidate] = {}
        self._last_sent: dict[uuid.UUID, float] = {}
        self._wake = asyncio.Event()
        self._client: Client | None = None
        self._next_connect: float | None = None  # None: connect whenever needed
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.sent = 0
        self.failed = 0
        self.closed_workflows = 0

    def offer(
        self,
        readings: list[StreamReading],
        open_workflows: dict[uuid.UUID, str],
        cooling_off: Collection[uuid.UUID] = (),
    ) -> int:
        """Queue the batch's readings of users with an open decision; returns how many counted.

        ``cooling_off``: users whose decision is paused, for whom every reading is urgent.
        """
        counted = 0
        for reading in readings:
            workflow_id = open_workflows.get(reading.user_id)
            if workflow_id is None:
                continue
            counted += 1
            distress = is_acute_distress(reading.stress, reading.intensity, self._thresholds)
            urgent = distress or reading.user_id in cooling_off
            candidate = _Candidate(reading, workflow_id, distress, urgent)
            current = self._pending.get(reading.user_id)
            replace = current is None or current.workflow_id != workflow_id
            if replace or _more_significant(candidate, current):  # type: ignore[arg-type]
                self._pending[reading.user_id] = candidate
        if counted:
            self._wake.set()
        return counted

    @property
    def pending(self) -> int:
        """Users with a signal waiting for its interval (for tests and shutdown logs)."""
        return len(self._pending)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="emotion-signaller")

    async def close(self, timeout: float = 2.0) -> None:
        """Flush what is due (bounded by ``timeout``) and stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                log.warning(
                    "signaller did not flush in time", extra={"pending": len(self._pending)}
                )
            self._task = None

    async def _connect(self) -> Client | None:
        if self._client is not None:
            return self._client
        now = self._clock()
        if self._next_connect is not None and now < self._next_connect:
            return None
        try:
            self._client = await asyncio.wait_for(self._client_factory(), timeout=5)
            log.info("signaller connected to temporal")
        except Exception as exc:
            self._next_connect = now + RECONNECT_SECONDS
            log.warning("temporal unreachable; signals delayed", extra={"error": str(exc)})
        return self._client

    def _due(self, now: float) -> tuple[list[_Candidate], float | None]:
        due: list[_Candidate] = []
        next_at: float | None = None
        for user_id, candidate in list(self._pending.items()):
            last = self._last_sent.get(user_id)
            if last is None or self._closing:  # never signalled: due at once (not "at time 0")
                at = now
            else:
                at = last + (self._interval if candidate.urgent else self._routine_interval)
            if at <= now:
                due.append(candidate)
                del self._pending[user_id]
                self._last_sent[user_id] = now
            else:
                next_at = at if next_at is None else min(next_at, at)
        return due, next_at

    async def _run(self) -> None:
        semaphore = asyncio.Semaphore(MAX_PARALLEL_SIGNALS)
        while True:
            if self._closing and not self._pending:
                return
            client = await self._connect() if self._pending else self._client
            if self._pending and client is None:
                if self._closing:
                    return
                await self._sleep(RECONNECT_SECONDS)
                continue
            now = self._clock()
            due, next_at = self._due(now)
            if due and client is not None:
                await asyncio.gather(*(self._send(client, c, semaphore) for c in due))
            self._prune(now)
            if self._closing and not self._pending:
                return
            await self._sleep(None if next_at is None else max(0.0, next_at - self._clock()))

    async def _sleep(self, seconds: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _prune(self, now: float) -> None:
        # Forget users idle for a while so the map does not grow with every user ever seen.
        if len(self._last_sent) > 10_000:
            horizon = now - max(self._routine_interval, 1.0)
            self._last_sent = {u: t for u, t in self._last_sent.items() if t > horizon}

    async def _send(
        self, client: Client, candidate: _Candidate, semaphore: asyncio.Semaphore
    ) -> None:
        async with semaphore:
            reading = candidate.reading
            try:
                handle = client.get_workflow_handle(candidate.workflow_id)
                await handle.signal(SIGNAL_EMOTION, to_signal(reading))
                self.sent += 1
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    self.closed_workflows += 1
                    log.debug(
                        "decision already closed; signal dropped",
                        extra={"workflow_id": candidate.workflow_id},
                    )
                else:
                    self.failed += 1
                    log.warning(
                        "emotion signal failed",
                        extra={"workflow_id": candidate.workflow_id, "error": str(exc)},
                    )
            except Exception as exc:
                self.failed += 1
                log.warning(
                    "emotion signal failed",
                    extra={"workflow_id": candidate.workflow_id, "error": repr(exc)},
                )
