"""The ingest path's group commit: concurrent requests share round trips, never acknowledgements."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import redis.asyncio as aioredis

from ecs.embedded_redis import start_redis
from ecs.stream.messages import decode_entry
from ecs.stream.producer import CoalescingPublisher
from tests.stream.helpers import reading
from tests.support import free_port


async def test_concurrent_publishes_share_round_trips_and_each_gets_its_own_entry(
    redis_client: aioredis.Redis,
) -> None:
    stream = f"coalesce-{uuid.uuid4().hex[:8]}"
    publisher = CoalescingPublisher(redis_client, stream)
    batches = [[reading(uuid.uuid4()) for _ in range(3)] for _ in range(200)]
    try:
        ids = await asyncio.gather(*(publisher.publish(b) for b in batches))
        assert len(set(ids)) == len(batches)
        assert publisher.round_trips < len(batches) / 4  # coalesced, not one XADD per request
        entries = dict(await redis_client.xrange(stream))
        for entry_id, batch in zip(ids, batches, strict=True):
            stored = decode_entry(entries[entry_id])
            assert [r.event_id for r in stored] == [r.event_id for r in batch]
    finally:
        await redis_client.delete(stream)


async def test_single_publish_is_one_round_trip(redis_client: aioredis.Redis) -> None:
    stream = f"coalesce-{uuid.uuid4().hex[:8]}"
    publisher = CoalescingPublisher(redis_client, stream)
    try:
        await publisher.publish([reading(uuid.uuid4())])
        assert publisher.round_trips == 1 and await redis_client.xlen(stream) == 1
    finally:
        await redis_client.delete(stream)


async def test_every_waiting_request_fails_when_redis_is_down(tmp_path: Path) -> None:
    port = free_port()
    process = start_redis(port, tmp_path, persist=False)
    client = aioredis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    publisher = CoalescingPublisher(client, "down")
    try:
        await publisher.publish([reading(uuid.uuid4())])
        process.terminate()
        process.wait(timeout=10)
        results = await asyncio.gather(
            *(publisher.publish([reading(uuid.uuid4())]) for _ in range(20)),
            return_exceptions=True,
        )
        assert all(isinstance(r, Exception) for r in results)  # no silent acknowledgement
    finally:
        await client.aclose()
        if process.poll() is None:
            process.kill()
