"""The ingest path's group commit: concurrent requests share round trips, never acknowledgements."""

from __future__ import annotations

import asyncio
import uuid
import zlib
from collections import Counter
from dataclasses import replace
from pathlib import Path

import orjson
import redis.asyncio as aioredis

from ecs.embedded_redis import start_redis
from ecs.stream.messages import decode_entry, encode_entry
from ecs.stream.producer import CoalescingPublisher
from ecs.stream.shards import shard_keys, shard_of
from tests.stream.helpers import reading
from tests.support import free_port


async def test_concurrent_publishes_share_round_trips_and_each_gets_its_own_entry(
    redis_client: aioredis.Redis,
) -> None:
    stream = f"coalesce-{uuid.uuid4().hex[:8]}"
    publisher = CoalescingPublisher(redis_client, stream)
    batches = [[reading(uuid.uuid4()) for _ in range(3)] for _ in range(200)]
    try:
        ids = [i for [i] in await asyncio.gather(*(publisher.publish(b) for b in batches))]
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


async def test_a_request_spanning_shards_is_one_entry_per_shard_it_touches(
    redis_client: aioredis.Redis,
) -> None:
    stream, shards = f"sharded-{uuid.uuid4().hex[:8]}", 4
    users = [uuid.uuid4() for _ in range(40)]
    batch = [reading(users[i % len(users)]) for i in range(120)]
    touched = {shard_of(u, shards) for u in users}
    publisher = CoalescingPublisher(redis_client, stream, shards=shards)
    keys = shard_keys(stream, shards)
    try:
        ids = await publisher.publish(batch)
        assert len(ids) == len(touched) and publisher.round_trips == 1
        stored: list[uuid.UUID] = []
        for shard, key in enumerate(keys):
            for _id, fields in await redis_client.xrange(key):
                readings = decode_entry(fields)
                assert {shard_of(r.user_id, shards) for r in readings} == {shard}
                stored += [r.event_id for r in readings]
        assert sorted(stored) == sorted(r.event_id for r in batch)  # each once, none elsewhere
        # Within a shard, a user's readings keep the request's order.
        for key in keys:
            for _id, fields in await redis_client.xrange(key):
                readings = decode_entry(fields)
                expected = [r.event_id for r in batch if r.user_id in {x.user_id for x in readings}]
                assert [r.event_id for r in readings] == expected
    finally:
        await redis_client.delete(*keys)


def test_the_fast_encoding_writes_exactly_the_documented_wire_shape() -> None:
    readings = [reading(uuid.uuid4()) for _ in range(3)]
    readings.append(
        replace(
            readings[0], context=None, received_at=readings[0].received_at.replace(microsecond=0)
        )
    )
    fields = encode_entry(readings)
    assert fields[b"r"] == orjson.dumps([r.to_wire() for r in readings])
    assert decode_entry(fields) == readings


def test_shard_placement_is_stable_and_spread() -> None:
    assert shard_keys("emotions", 1) == ["emotions"]  # the unsharded key keeps its name
    assert shard_keys("emotions", 3) == ["emotions:{0}", "emotions:{1}", "emotions:{2}"]
    user = uuid.UUID("6f1c2b8e-4d3a-4e55-9a0b-2f7c1d9e8a11")
    assert shard_of(user, 8) == zlib.crc32(user.bytes) % 8  # no per-process salt
    counts = Counter(shard_of(uuid.uuid1(), 8) for _ in range(8000))  # one host's time UUIDs
    assert len(counts) == 8 and min(counts.values()) > 800


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
