"""The stream consumer (``ecs stream``): Redis Stream → database, then signals to open decisions.

Guarantees and how they are kept:

* **Nothing acknowledged before it is committed.** A batch is read with XREADGROUP, written in one
  database transaction (``ecs.stream.store.persist``), and only then XACKed. A crash anywhere
  before XACK leaves the entries in the group's pending list.
* **Nothing lost when a consumer dies.** Every consumer periodically XAUTOCLAIMs entries idle for
  longer than ``stream_claim_idle_ms`` (a dead peer's, or its own from a previous life).
* **Nothing counted twice.** Redelivery is expected; the raw insert is idempotent on the user's
  ``event_id`` and aggregates only grow for rows that insert actually created.
* **One bad entry cannot stall the stream.** An undecodable entry, one delivered more than
  ``stream_max_deliveries`` times, or a reading the database refuses (e.g. an unknown user) goes to
  ``<stream>:dead`` with its error and original fields, then is acknowledged. A failing batch is
  retried entry by entry, then reading by reading, so only the culprit is dead-lettered
  (``ecs.stream.isolation``).
* **Database outages are waited out, not dead-lettered.** Connection-level errors (and deadlocks)
  are retried with back-off, holding the batch; the stream simply backs up in Redis
  (``ecs.stream.writes``).
* **Trimming never removes unacknowledged work** (``ecs.stream.trimming``).

This module is the loop of one stream key: when to claim, read and trim (timers on an injected
``Clock``, so tests drive them), and what a batch goes through between XREADGROUP and XACK. With
``ECS_STREAM_SHARDS`` > 1 each shard is its own key with its own group, and the ``ecs stream``
process (``ecs.stream.process``) runs one of these loops per shard, so every guarantee above holds
per shard unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import Engine

from ecs.clock import Clock, monotonic
from ecs.domain.emotions import CoolingOffThresholds
from ecs.settings import Settings
from ecs.stream import metrics
from ecs.stream.deadletters import dead_letter_stream
from ecs.stream.isolation import (
    Entry,
    dead_letter_and_ack,
    persist_isolating,
    triage,
)
from ecs.stream.messages import StreamReading
from ecs.stream.signaller import Signaller
from ecs.stream.store import PersistResult
from ecs.stream.trimming import forget_stale_consumers, trim_stream
from ecs.stream.writes import MAX_BACKOFF_SECONDS, Writer

log = logging.getLogger("ecs.stream")

BLOCK_MS = 1000
TRIM_INTERVAL_SECONDS = 10.0
METRICS_SAMPLE_SECONDS = 5.0  # backlog gauges (lag, pending, dead letters) from Redis
SUMMARY_SECONDS = 30.0  # one INFO line with the totals; each batch is logged at DEBUG


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def thresholds_from(settings: Settings) -> CoolingOffThresholds:
    """The configured cooling-off rule (``ecs.domain.emotions.CoolingOff.from_settings``)."""
    return CoolingOffThresholds.from_settings(settings)


@dataclass
class BatchOutcome:
    entries: int = 0
    readings: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead: int = 0
    signals_queued: int = 0
    acked: bool = False


class StreamConsumer:
    def __init__(
        self,
        settings: Settings,
        redis: aioredis.Redis,
        engine: Engine,
        *,
        name: str | None = None,
        stream: str | None = None,
        signaller: Signaller | None = None,
        owns_signaller: bool = True,
        claim_interval: float | None = None,
        trim_interval: float = TRIM_INTERVAL_SECONDS,
        block_ms: int = BLOCK_MS,
        clock: Clock = monotonic,
        raw_json: bool | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.engine = engine
        self.name = name or default_consumer_name()
        self.signaller = signaller
        self.owns_signaller = owns_signaller  # False: shared by shards, started by the process
        if stream is None and settings.stream_shards > 1:
            raise ValueError("a sharded stream needs the key of the shard to consume")
        self.stream = stream or settings.stream_name
        self.group = settings.stream_group
        self.dead_stream = dead_letter_stream(self.stream)
        self.thresholds = thresholds_from(settings)
        self.claim_interval = (
            claim_interval
            if claim_interval is not None
            else min(settings.stream_claim_idle_ms / 2000, 5.0)
        )
        self.trim_interval = trim_interval
        self.block_ms = block_ms
        self.clock = clock
        # PostgreSQL parses the entries' JSON itself (ecs.stream.rawstore); None: when available.
        self.raw_json = engine.dialect.name == "postgresql" if raw_json is None else raw_json
        self.writer = Writer(
            engine, self.thresholds, stopping=lambda: self._stop.is_set(), sleep=self._sleep
        )
        self._claim_cursor = b"0-0"
        self._next_claim: float | None = None  # None: never claimed, so due at the first step
        self._next_trim = clock() + trim_interval
        self._next_sample: float | None = None  # None: never sampled, so due at the first step
        self._next_summary = clock() + SUMMARY_SECONDS
        self._summarised = BatchOutcome()
        self._readings_per_entry = 1.0
        self._stop = asyncio.Event()
        self.totals = BatchOutcome()
        self.trims = 0  # trim passes run, for tests and logs

    # ----------------------------------------------------------------------------------- setup
    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
            log.info("consumer group created", extra={"stream": self.stream, "group": self.group})
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # ------------------------------------------------------------------------------------ loop
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Consume until ``stop`` is set; the batch in hand is always finished and acknowledged."""
        self._stop = stop or asyncio.Event()
        backoff = 0.1
        if self.signaller is not None and self.owns_signaller:
            self.signaller.start()
        log.info(
            "stream consumer started",
            extra={"stream": self.stream, "group": self.group, "consumer": self.name},
        )
        try:
            await self._ensure_group_with_retry()
            await self.recover_own_pending()
            while not self._stop.is_set():
                try:
                    await self.step()
                    backoff = 0.1
                except RedisError as exc:
                    if "NOGROUP" in str(exc):  # Redis lost its data (or someone deleted the key)
                        await self._ensure_group_with_retry()
                        continue
                    log.warning("redis error; backing off", extra={"error": str(exc)})
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            if self.signaller is not None and self.owns_signaller:
                await self.signaller.close()
            log.info(
                "stream consumer stopped",
                extra={
                    "stream": self.stream,
                    "consumer": self.name,
                    "readings": self.totals.readings,
                    "inserted": self.totals.inserted,
                    "duplicates": self.totals.duplicates,
                    "dead": self.totals.dead,
                },
            )

    async def _ensure_group_with_retry(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                await self.ensure_group()
                return
            except RedisError as exc:
                log.warning("redis unreachable; retrying", extra={"error": str(exc)})
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def step(self) -> BatchOutcome:
        """One iteration: claim abandoned entries when due, else read new ones; trim when due."""
        now = self.clock()
        outcome = BatchOutcome()
        if self._next_claim is None or now >= self._next_claim:
            outcome = await self.claim_abandoned()
            if not outcome.entries:  # while claims find work, keep claiming
                self._next_claim = now + self.claim_interval
        if not outcome.entries:
            outcome = await self.read_new()
        if self.clock() >= self._next_trim:
            self._next_trim = self.clock() + self.trim_interval
            try:
                await trim_stream(self.redis, self.stream)
                self.trims += 1
                await forget_stale_consumers(self.redis, self.stream, self.group, keep=self.name)
            except RedisError as exc:
                log.warning("trim failed", extra={"error": str(exc)})
        now = self.clock()
        if self._next_sample is None or now >= self._next_sample:
            self._next_sample = now + METRICS_SAMPLE_SECONDS
            await metrics.sample_backlog(
                self.redis, stream=self.stream, group=self.group, dead_stream=self.dead_stream
            )
        if now >= self._next_summary:
            self._next_summary = now + SUMMARY_SECONDS
            self._summarise()
        return outcome

    def _summarise(self) -> None:
        """The periodic INFO line: what was consumed since the last one (batches are DEBUG)."""
        t, last = self.totals, self._summarised
        log.info(
            "stream consumer progress",
            extra={
                "stream": self.stream,
                "consumer": self.name,
                "window_s": SUMMARY_SECONDS,
                "readings": t.readings - last.readings,
                "inserted": t.inserted - last.inserted,
                "duplicates": t.duplicates - last.duplicates,
                "dead": t.dead - last.dead,
                "signals_queued": t.signals_queued - last.signals_queued,
            },
        )
        self._summarised = BatchOutcome(**vars(t))

    def _read_count(self) -> int:
        """Entries per read so that a batch holds about ``stream_batch_size`` readings, whether
        entries carry one reading (per-reading producers) or a whole request's worth."""
        size = self.settings.stream_batch_size
        return max(1, min(size, round(size / max(self._readings_per_entry, 1.0))))

    async def read_new(self) -> BatchOutcome:
        wanted = self._read_count()
        entries = await self._read_new(wanted, self.block_ms)
        if entries and self.settings.stream_linger_ms:
            entries += await self._top_up(len(entries), wanted)
        return await self.process(entries) if entries else BatchOutcome()

    async def _read_new(self, count: int, block_ms: int) -> list[Entry]:
        response = await self.redis.xreadgroup(
            self.group, self.name, {self.stream: ">"}, count=count, block=block_ms
        )
        return _entries(response)

    async def _top_up(self, have: int, wanted: int) -> list[Entry]:
        """More entries for a batch the first read left under half full, for up to
        ``ECS_STREAM_LINGER_MS``.

        A read returns whatever has arrived, so under load a consumer that keeps up commits many
        small transactions, and each has a fixed cost in PostgreSQL (staging, the open-decision
        lookup, the commit) and in the consumer: at 45k readings/s two consumers committed ~780
        readings per transaction against the 4,000 the batch size allows. Waiting 20 ms for more
        doubled that and cut PostgreSQL's CPU per reading by 27 % (``bench/ingest.py``). The
        wait is real time (Redis's BLOCK), not the injected clock.
        """
        deadline = time.monotonic() + self.settings.stream_linger_ms / 1000
        more: list[Entry] = []
        while have + len(more) < wanted // 2:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            got = await self._read_new(wanted - have - len(more), left_ms)
            if not got:
                break
            more += got
        return more

    async def recover_own_pending(self) -> None:
        """A restarted consumer with a fixed ``--name`` first finishes what it had in hand."""
        while not self._stop.is_set():
            response = await self.redis.xreadgroup(
                self.group, self.name, {self.stream: "0"}, count=self._read_count()
            )
            entries = _entries(response)
            if not entries:
                return
            await self._attach_delivery_counts(entries)
            outcome = await self.process(entries)
            if not outcome.acked:
                return

    async def claim_abandoned(self) -> BatchOutcome:
        """XAUTOCLAIM entries idle past ``stream_claim_idle_ms`` (their consumer is gone)."""
        response = await self.redis.xautoclaim(
            self.stream,
            self.group,
            self.name,
            min_idle_time=self.settings.stream_claim_idle_ms,
            start_id=self._claim_cursor,
            count=self._read_count(),
        )
        cursor, claimed = response[0], response[1]
        self._claim_cursor = cursor
        entries = [Entry(eid, fields) for eid, fields in claimed]
        if not entries:
            return BatchOutcome()
        await self._attach_delivery_counts(entries)
        log.info("claimed abandoned entries", extra={"entries": len(entries)})
        return await self.process(entries)

    async def _attach_delivery_counts(self, entries: list[Entry]) -> None:
        ids = [e.id for e in entries]
        info = await self.redis.xpending_range(
            self.stream, self.group, min(ids), max(ids), len(ids) * 2 + 10, self.name
        )
        counts = {item["message_id"]: int(item["times_delivered"]) for item in info}
        for entry in entries:
            entry.deliveries = counts.get(entry.id, entry.deliveries)

    # ----------------------------------------------------------------------------- processing
    async def process(self, entries: list[Entry]) -> BatchOutcome:
        """Decode, write (isolating poison), dead-letter, XACK, then offer the signals."""
        started = time.perf_counter()
        outcome = BatchOutcome(entries=len(entries))
        if self.raw_json:
            raw = await self.writer.raw(entries, self.settings.stream_max_deliveries)
            if raw is False:  # stopping while the database is down: leave it all pending
                return outcome
            if raw is not None:
                self._observe_entry_size(raw.readings, len(entries))
                await self.redis.xack(self.stream, self.group, *[e.id for e in entries])
                return self._done(outcome, raw.readings, [raw.result], raw.for_signals, started)
        live, dead = triage(entries, self.settings.stream_max_deliveries)
        outcome.readings = sum(len(e.readings) for e in live)
        self._observe_entry_size(outcome.readings, len(live))
        persisted = await persist_isolating(self.writer.portable, live, dead)
        if persisted is None:  # stopping while the database is down: leave it all pending
            return outcome
        ok_readings, results = persisted
        outcome.dead = len(dead)
        await dead_letter_and_ack(
            self.redis,
            stream=self.stream,
            group=self.group,
            dead_stream=self.dead_stream,
            consumer=self.name,
            entries=entries,
            dead=dead,
        )
        return self._done(outcome, outcome.readings, results, ok_readings, started)

    def _observe_entry_size(self, readings: int, entries: int) -> None:
        if entries:
            average = readings / entries
            self._readings_per_entry = 0.8 * self._readings_per_entry + 0.2 * average

    def _done(
        self,
        outcome: BatchOutcome,
        readings: int,
        results: list[PersistResult],
        ok_readings: list[StreamReading],
        started: float,
    ) -> BatchOutcome:
        """The batch is committed and acknowledged: signals, totals, metrics, the DEBUG line."""
        outcome.acked = True
        outcome.readings = readings
        for result in results:
            outcome.inserted += result.stored
            outcome.duplicates += result.duplicates
        if self.signaller is not None and ok_readings:
            open_workflows: dict[Any, str] = {}
            cooling_off: set[Any] = set()
            for result in results:
                open_workflows.update(result.open_workflows)
                cooling_off |= result.cooling_off
            outcome.signals_queued = self.signaller.offer(ok_readings, open_workflows, cooling_off)
        self._add_totals(outcome)
        seconds = time.perf_counter() - started
        metrics.observe_batch(
            inserted=outcome.inserted,
            duplicates=outcome.duplicates,
            dead=outcome.dead,
            seconds=seconds,
        )
        log.debug(
            "batch committed",
            extra={
                "consumer": self.name,
                "entries": outcome.entries,
                "readings": outcome.readings,
                "inserted": outcome.inserted,
                "duplicates": outcome.duplicates,
                "dead": outcome.dead,
                "signals_queued": outcome.signals_queued,
                "ms": round(seconds * 1000, 1),
            },
        )
        return outcome

    def _add_totals(self, outcome: BatchOutcome) -> None:
        t = self.totals
        t.entries += outcome.entries
        t.readings += outcome.readings
        t.inserted += outcome.inserted
        t.duplicates += outcome.duplicates
        t.dead += outcome.dead
        t.signals_queued += outcome.signals_queued


def _entries(response: Any) -> list[Entry]:
    """XREADGROUP reply (RESP2): ``[[stream, [(id, fields), ...]]]``; fields None if deleted."""
    return [Entry(eid, fields) for _stream, items in response or [] for eid, fields in items]
