"""Appending readings to the Redis stream.

The API acknowledges a request only after this returns, i.e. after Redis has the entries (with
``appendonly yes`` / ``appendfsync everysec`` in production that is at most one second of exposure
to a Redis crash; replicas plus ``WAIT`` would close it at a latency cost we chose not to pay).
No MAXLEN here on purpose: capping length at write time could drop entries nobody has consumed
yet; the consumer trims with MINID below the oldest unacknowledged entry instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from ecs.stream.messages import StreamReading, encode_entry


async def publish(
    redis: aioredis.Redis,
    stream: str,
    readings: Sequence[StreamReading],
    *,
    per_entry: int | None = None,
) -> list[bytes]:
    """Append ``readings``; returns the stream ids.

    ``per_entry=None`` (the default, used by the API) writes the whole request as one entry: one
    XADD, one JSON document, one pending-list slot. ``per_entry=1`` writes one pipelined XADD per
    reading; kept for the benchmark that compares the two and for producers that want the finest
    dead-letter granularity.
    """
    if not readings:
        return []
    if per_entry is None or per_entry >= len(readings):
        entry_id = await redis.xadd(stream, encode_entry(list(readings)))  # type: ignore[arg-type]
        return [entry_id if isinstance(entry_id, bytes) else entry_id.encode()]
    async with redis.pipeline(transaction=False) as pipe:
        for start in range(0, len(readings), per_entry):
            chunk = list(readings[start : start + per_entry])
            pipe.xadd(stream, encode_entry(chunk))  # type: ignore[arg-type]
        ids: list[bytes] = await pipe.execute()
    return ids
