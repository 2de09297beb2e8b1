"""Sharded streams on a real Redis Cluster (three masters this module starts and removes).

The API's producer splits each request by the user's shard; one consumer loop per shard commits
and acknowledges; a consumer process killed with SIGKILL in the middle of its batches loses
nothing and duplicates nothing once a survivor claims what it held.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient
from redis.asyncio.cluster import RedisCluster
from sqlalchemy import Engine

from ecs.errors import RateLimited
from ecs.settings import Settings
from ecs.stream.connection import redis_client
from ecs.stream.consumer import StreamConsumer
from ecs.stream.deadletters import dead_letter_stream, list_dead_letters
from ecs.stream.messages import StreamReading, decode_entry
from ecs.stream.process import run_shards
from ecs.stream.producer import CoalescingPublisher
from ecs.stream.shards import shard_keys, shard_of
from ecs.stream.trimming import trim_stream
from ecs.throttle import Limit, Throttle
from tests.stream.cluster import redis_cluster
from tests.stream.helpers import (
    assert_daily_matches,
    count_events,
    isolated,
    make_users,
    reading,
    stored_event_ids,
)
from tests.support import async_wait_for

SHARDS = 3
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as url:
        yield url


@pytest.fixture
def sharded(base_settings: Settings, cluster_url: str) -> Settings:
    return isolated(base_settings, redis_url=cluster_url, redis_cluster=True, stream_shards=SHARDS)


@pytest.fixture
async def cluster(sharded: Settings) -> AsyncIterator[aioredis.Redis]:
    client = redis_client(sharded)
    yield client
    await client.aclose()


@asynccontextmanager
async def consuming(
    settings: Settings, client: aioredis.Redis, engine: Engine, **kwargs: object
) -> AsyncIterator[list[StreamConsumer]]:
    """Every shard consumed in this process, as ``ecs stream`` does; stopped on exit."""
    consumers = [
        StreamConsumer(settings, client, engine, stream=key, block_ms=100, **kwargs)
        for key in shard_keys(settings.stream_name, settings.stream_shards)
    ]
    for consumer in consumers:
        await consumer.ensure_group()
    stop = asyncio.Event()
    task = asyncio.create_task(run_shards(consumers, stop))
    try:
        yield consumers
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def _pending(client: aioredis.Redis, s: Settings, consumer: str | None = None) -> int:
    total = 0
    for key in shard_keys(s.stream_name, s.stream_shards):
        if consumer is None:
            total += int((await client.xpending(key, s.stream_group))["pending"])
        else:
            held = await client.xpending_range(key, s.stream_group, "-", "+", 100_000, consumer)
            total += len(held)
    return total


def _batches(users: list[uuid.UUID], n: int, size: int, seed: int) -> list[list[StreamReading]]:
    """Requests as the app sends them: each spans several users, hence several shards."""
    rng = random.Random(seed)
    return [[reading(rng.choice(users), rng=rng) for _ in range(size)] for _ in range(n)]


async def test_shards_are_spread_over_the_cluster_nodes(
    sharded: Settings, cluster: aioredis.Redis
) -> None:
    assert isinstance(cluster, RedisCluster)
    await cluster.initialize()  # the slot map is fetched lazily, at the first command
    keys = shard_keys(sharded.stream_name, SHARDS)
    nodes = {cluster.get_node_from_key(key).name for key in keys}
    assert len(nodes) > 1  # one key per node at most would cap ingest at one node
    dead = {cluster.keyslot(f"{key}:dead") == cluster.keyslot(key) for key in keys}
    assert dead == {True}  # a shard and its dead letters share a slot (hash tag)


async def test_the_apis_login_throttle_works_on_the_cluster(
    sharded: Settings, cluster: aioredis.Redis
) -> None:
    """The API shares this client: its MULTI over several counters must stay in one slot."""
    throttle = Throttle(cluster, prefix=f"throttle-{uuid.uuid4().hex[:8]}")
    limits = [(Limit("account", 2, 60), "ana@example.com"), (Limit("address", 5, 60), "10.0.0.1")]
    attempt = await throttle.hit(limits)
    await throttle.give_back(attempt)
    await throttle.hit(limits)
    await throttle.hit(limits)
    with pytest.raises(RateLimited):
        await throttle.hit(limits)


async def test_requests_spanning_shards_land_once_each_on_their_users_shard(
    sharded: Settings, cluster: aioredis.Redis, engine: Engine
) -> None:
    users = make_users(engine, 24)
    batches = _batches(users, 60, 25, seed=15)
    publisher = CoalescingPublisher(cluster, sharded.stream_name, shards=SHARDS)
    acknowledged = await asyncio.gather(*(publisher.publish(b) for b in batches))
    assert all(len(ids) == len({shard_of(r.user_id, SHARDS) for r in b})
               for ids, b in zip(acknowledged, batches, strict=True))  # fmt: skip
    for shard, key in enumerate(shard_keys(sharded.stream_name, SHARDS)):
        for _id, fields in await cluster.xrange(key):
            assert {shard_of(r.user_id, SHARDS) for r in decode_entry(fields)} == {shard}
    everything = [r for b in batches for r in b]

    async with consuming(sharded, cluster, engine):
        await async_wait_for(
            lambda: _stored(engine, users, len(everything)), timeout=60, message="all stored"
        )
        await async_wait_for(lambda: _none_pending(cluster, sharded), timeout=20)
    ids = stored_event_ids(engine, users)
    assert len(ids) == len(set(ids)) == len(everything)
    assert_daily_matches(engine, users, everything)


def test_the_api_acknowledges_a_request_only_once_every_shard_has_its_entry(
    sharded: Settings, engine: Engine
) -> None:
    """``POST /v1/emotions`` on the cluster: one request, readings of many users, a 202 after
    one XADD per shard touched, each reading in its user's shard only."""
    from api.main import create_app

    users = make_users(engine, 12)
    rng = random.Random(3)
    batch = [reading(rng.choice(users), rng=rng) for _ in range(60)]
    body = {"readings": [_public(r) for r in batch]}
    key = {"X-API-Key": sharded.ingest_api_key.get_secret_value()}
    with TestClient(create_app(sharded)) as client:
        response = client.post("/v1/emotions", json=body, headers=key)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == len(batch)
    found = asyncio.run(_entries_by_shard(sharded))
    assert sorted(e for ids in found.values() for e in ids) == sorted(r.event_id for r in batch)
    for shard, ids in found.items():
        assert {r.user_id for r in batch if r.event_id in ids} <= {
            u for u in users if shard_of(u, SHARDS) == shard
        }
    assert len(found) == len({shard_of(r.user_id, SHARDS) for r in batch})


def _public(r: StreamReading) -> dict[str, object]:
    metrics = {"positivity": r.positivity, "intensity": r.intensity, "stress": r.stress}
    return {
        "event_id": str(r.event_id),
        "user_id": str(r.user_id),
        "occurred_at": r.occurred_at.isoformat(),
        "kind": r.kind,
        "metrics": metrics,
    }


async def _entries_by_shard(s: Settings) -> dict[int, set[uuid.UUID]]:
    client = redis_client(s)
    try:
        found: dict[int, set[uuid.UUID]] = {}
        for shard, key in enumerate(shard_keys(s.stream_name, SHARDS)):
            for _id, fields in await client.xrange(key):
                found.setdefault(shard, set()).update(r.event_id for r in decode_entry(fields))
        return found
    finally:
        await client.aclose()


async def test_poison_goes_to_its_shards_dead_letters_and_shards_trim(
    sharded: Settings, cluster: aioredis.Redis, engine: Engine
) -> None:
    users = make_users(engine, 6)
    stranger = uuid.uuid4()  # not a user: refused as data (store.UnknownUser), nothing else
    good = [reading(u) for u in users for _ in range(5)]
    request = [*good[:15], reading(stranger), *good[15:]]
    publisher = CoalescingPublisher(cluster, sharded.stream_name, shards=SHARDS)
    await publisher.publish(request)
    keys = shard_keys(sharded.stream_name, SHARDS)
    poisoned = keys[shard_of(stranger, SHARDS)]

    async with consuming(sharded, cluster, engine) as consumers:
        await async_wait_for(lambda: _stored(engine, users, len(good)), timeout=30)
        await async_wait_for(lambda: _none_pending(cluster, sharded), timeout=20)
        for consumer in consumers:
            await trim_stream(cluster, consumer.stream)
    [letter] = await list_dead_letters(cluster, poisoned)
    assert [r.user_id for r in decode_entry(letter.fields)] == [stranger]
    for key in keys:
        assert await cluster.xlen(key) <= 1  # trimmed below what the group acknowledged
        if key != poisoned:
            assert await cluster.xlen(dead_letter_stream(key)) == 0
    assert sorted(stored_event_ids(engine, users)) == sorted(r.event_id for r in good)


async def test_a_consumer_killed_mid_batch_loses_and_duplicates_nothing(
    sharded: Settings, cluster: aioredis.Redis, engine: Engine
) -> None:
    s = sharded.model_copy(update={"stream_claim_idle_ms": 500, "stream_batch_size": 100})
    users = make_users(engine, 40)
    batches = _batches(users, 400, 30, seed=16)
    everything = [r for b in batches for r in b]
    publisher = CoalescingPublisher(cluster, s.stream_name, shards=SHARDS)
    for key in shard_keys(s.stream_name, SHARDS):
        await cluster.xgroup_create(key, s.stream_group, id="0", mkstream=True)
    for start in range(0, 200, 20):  # half now, half while the victim is at work and after
        await asyncio.gather(*(publisher.publish(b) for b in batches[start : start + 20]))

    victim = _start_consumer(s, "victim")
    try:
        # Kill it while it holds delivered, unacknowledged entries, after it committed some.
        async def mid_batch() -> bool:
            if victim.poll() is not None:
                raise AssertionError(victim.stderr.read().decode() if victim.stderr else "died")
            stored = await asyncio.to_thread(count_events, engine, users)
            return stored > 0 and await _pending(cluster, s, "victim") > 0

        await async_wait_for(mid_batch, timeout=60, interval=0.01, message="victim mid-batch")
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait(timeout=10)
    held = await _pending(cluster, s, "victim")
    stored_at_kill = count_events(engine, users)
    assert held > 0 and stored_at_kill < len(everything)

    async with consuming(s, cluster, engine, name="survivor", claim_interval=0.2):
        for start in range(200, 400, 20):
            await asyncio.gather(*(publisher.publish(b) for b in batches[start : start + 20]))
        await async_wait_for(
            lambda: _stored(engine, users, len(everything)), timeout=90, message="all stored"
        )
        await async_wait_for(lambda: _none_pending(cluster, s), timeout=30)
    ids = stored_event_ids(engine, users)
    assert len(ids) == len(set(ids)) == len(everything)  # 0 lost, 0 duplicated
    assert set(ids) == {r.event_id for r in everything}
    assert_daily_matches(engine, users, everything)  # nothing counted twice in the aggregates


def _start_consumer(s: Settings, name: str) -> subprocess.Popen[bytes]:
    """``ecs stream`` as production runs it: its own process, every shard, the cluster client."""
    return subprocess.Popen(
        [sys.executable, "-m", "ecs", "stream", "--name", name],
        cwd=ROOT,
        env=_consumer_env(s),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _consumer_env(s: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECS_")}
    env |= {
        "ECS_ENV": "test",
        "ECS_DATABASE_URL": s.effective_database_url,
        "ECS_REDIS_URL": s.effective_redis_url,
        "ECS_REDIS_CLUSTER": "true",
        "ECS_STREAM_SHARDS": str(s.stream_shards),
        "ECS_STREAM_NAME": s.stream_name,
        "ECS_STREAM_GROUP": s.stream_group,
        "ECS_STREAM_BATCH_SIZE": str(s.stream_batch_size),
        "ECS_STREAM_CLAIM_IDLE_MS": str(s.stream_claim_idle_ms),
        "ECS_STREAM_METRICS_PORT": "0",
        "ECS_TEMPORAL_ADDRESS": "127.0.0.1:1",  # no open decisions: never dialled
        "ECS_LOG_LEVEL": "WARNING",
    }
    return env


async def _stored(engine: Engine, users: list[uuid.UUID], n: int) -> bool:
    return await asyncio.to_thread(count_events, engine, users) >= n


async def _none_pending(client: aioredis.Redis, s: Settings) -> bool:
    return await _pending(client, s) == 0
