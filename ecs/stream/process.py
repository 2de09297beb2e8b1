"""The ``ecs stream`` process: one consumer loop per stream shard, one Redis client, one signaller.

Each shard (``ecs.stream.shards``) is an independent stream key with its own consumer group, so
the process simply runs a ``StreamConsumer`` per key as concurrent tasks: a blocking read on one
shard never delays another, and a shard's batch is committed and acknowledged exactly as with a
single key. Every process serves every shard by default, so any consumer can claim what a dead one
left on any shard; ``--shard`` narrows a process to some shards when a deployment wants to pin
them (claiming then happens among the processes pinned to the same shard).

On PostgreSQL the process also creates the coming days' partitions of ``emotion_events`` at start
and every hour (``ecs.stream.partitions``), so the days readings land on exist before they come.

The shards share the database engine (a thread per concurrent commit: shards hold disjoint users,
so their transactions never wait on each other's rows) and the signaller (one coalescing window
per user, whichever shard the reading came through).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine

from ecs.db.engine import get_engine
from ecs.heap import startup_heap_frozen
from ecs.settings import Settings
from ecs.stream import metrics
from ecs.stream.connection import redis_client
from ecs.stream.consumer import BLOCK_MS, StreamConsumer, default_consumer_name, thresholds_from
from ecs.stream.partitions import ensure_partitions, wanted_days
from ecs.stream.shards import shard_keys
from ecs.stream.signaller import Signaller
from ecs.temporal.client import connect

log = logging.getLogger("ecs.stream")

PARTITION_INTERVAL_SECONDS = 3600.0


async def maintain_partitions(
    engine: Engine, stop: asyncio.Event, interval: float = PARTITION_INTERVAL_SECONDS
) -> None:
    """Create upcoming partitions now and every ``interval`` until ``stop`` (errors logged: a
    missing day only sends its readings to the DEFAULT partition, it refuses none)."""
    while not stop.is_set():
        try:
            today = datetime.now(UTC).date()
            await asyncio.to_thread(ensure_partitions, engine, wanted_days(today))
        except Exception as exc:
            log.warning("emotion partitions not created", extra={"error": str(exc)[:500]})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def run_shards(consumers: list[StreamConsumer], stop: asyncio.Event) -> None:
    """Run every shard's loop until ``stop``; if one fails, stop the others and re-raise."""
    signallers = {
        id(c.signaller): c.signaller
        for c in consumers
        if c.signaller is not None and not c.owns_signaller
    }
    for shared in signallers.values():
        shared.start()
    tasks = [asyncio.create_task(c.run(stop), name=f"consume {c.stream}") for c in consumers]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        error = next((t.exception() for t in done if t.exception() is not None), None)
        if error is not None:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise error
    finally:
        for shared in signallers.values():
            await shared.close()


async def run_consumer(
    settings: Settings, consumer_name: str | None = None, shards: Iterable[int] | None = None
) -> None:
    """The ``ecs stream`` process, stopped gracefully by SIGINT/SIGTERM."""
    redis = redis_client(
        settings,
        socket_timeout=BLOCK_MS / 1000 + 5,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )
    signaller = Signaller(
        lambda: connect(settings),
        thresholds_from(settings),
        settings.stream_signal_interval_ms,
        routine_interval_s=settings.stream_routine_signal_interval_s,
    )
    engine = get_engine(settings)
    name = consumer_name or default_consumer_name()
    consumers = [
        StreamConsumer(
            settings,
            redis,
            engine,
            name=name,
            stream=key,
            signaller=signaller,
            owns_signaller=False,
        )
        for key in shard_keys(settings.stream_name, settings.stream_shards, shards)
    ]
    if settings.stream_metrics_port:
        try:
            metrics.serve(settings.stream_metrics_port, settings.metrics_host)
        except OSError as exc:  # another consumer on this host has the port: consume anyway
            log.warning("metrics endpoint not started", extra={"error": str(exc)})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    partitions = asyncio.create_task(maintain_partitions(engine, stop))
    try:
        with startup_heap_frozen():
            await run_shards(consumers, stop)
    finally:
        stop.set()
        await partitions
        await redis.aclose()
