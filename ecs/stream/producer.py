"""Appending readings to the Redis stream.

The API acknowledges a request only after this returns, i.e. after Redis has the entries (with
``appendonly yes`` / ``appendfsync everysec`` in production that is at most one second of exposure
to a Redis crash; replicas plus ``WAIT`` would close it at a latency cost we chose not to pay).
No MAXLEN here on purpose: capping length at write time could drop entries nobody has consumed
yet; the consumer trims with MINID below the oldest unacknowledged entry instead.

With ``ECS_STREAM_SHARDS`` > 1 a request's readings are split by their user's shard
(``ecs.stream.shards``): one entry per shard the request touches, and the request is acknowledged
only once every one of them is stored. If one shard's XADD fails the request fails (503) even
though other shards have their entries; the client's retry re-sends the same event ids and the
consumer's deduplication makes the second copy a no-op.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import redis.asyncio as aioredis

from ecs.stream.messages import StreamReading, WireReading, encode_entry, user_of
from ecs.stream.shards import shard_key, split_by_shard


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


class CoalescingPublisher:
    """Group commit for the ingest hot path: concurrent requests share one pipelined round trip.

    Each request still gets its 202 only after *its own* entries are in Redis; requests arriving
    while a pipeline is in flight simply ride the next one. Under load this turns N XADD round
    trips (and N passes through redis-py's per-command machinery, which dominated the endpoint's
    CPU profile) into one; with a single request in flight it degenerates to one XADD, so idle
    latency is unchanged. On a Redis Cluster the pipeline is split per node by the client.
    """

    def __init__(
        self, redis: aioredis.Redis, stream: str, *, shards: int = 1, max_batch: int = 512
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.shards = shards
        self.max_batch = max_batch
        self.round_trips = 0  # for tests and benchmarks
        self._pending: list[tuple[str, dict[bytes, bytes], asyncio.Future[bytes]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def publish(self, readings: Sequence[StreamReading | WireReading]) -> list[bytes]:
        """Append ``readings`` (one entry per shard they touch); returns the entry ids once
        Redis has every one of them."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[bytes]] = []
        for shard, group in sorted(split_by_shard(readings, self.shards, user_of).items()):
            future: asyncio.Future[bytes] = loop.create_future()
            key = shard_key(self.stream, shard, self.shards)
            self._pending.append((key, encode_entry(group), future))
            futures.append(future)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # Every future is awaited (no gather shortcut) so none is left with an unread error.
        results = await asyncio.gather(*futures, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [r for r in results if isinstance(r, bytes)]

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            self.round_trips += 1
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for key, fields, _future in batch:
                        pipe.xadd(key, fields)  # type: ignore[arg-type]
                    replies = await pipe.execute(raise_on_error=False)
            except BaseException as exc:  # connection lost, timeout, cancellation: all fail
                for _key, _fields, future in batch:
                    if not future.done():
                        future.set_exception(_as_exception(exc))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_key, _fields, future), reply in zip(batch, replies, strict=True):
                if future.done():
                    continue
                if isinstance(reply, Exception):
                    future.set_exception(reply)
                else:
                    future.set_result(reply if isinstance(reply, bytes) else str(reply).encode())


def _as_exception(exc: BaseException) -> Exception:
    return exc if isinstance(exc, Exception) else ConnectionError(f"publish interrupted: {exc!r}")
