"""The consumer's backlog gauges read the real stream: lag, pending and dead letters."""

from __future__ import annotations

import uuid

import redis.asyncio as aioredis

from ecs.stream import metrics


async def test_backlog_gauges_follow_the_stream(redis_client: aioredis.Redis) -> None:
    stream, group = f"metrics-{uuid.uuid4().hex[:8]}", "g"
    dead = f"{stream}:dead"
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    for i in range(5):
        await redis_client.xadd(stream, {"n": str(i)})
    await redis_client.xadd(dead, {"n": "poison"})
    await redis_client.xreadgroup(group, "c1", {stream: ">"}, count=2)  # 2 delivered, unacked

    await metrics.sample_backlog(redis_client, stream=stream, group=group, dead_stream=dead)
    assert metrics.LAG.labels(stream=stream)._value.get() == 3
    assert metrics.PENDING.labels(stream=stream)._value.get() == 2
    assert metrics.DEAD_LETTERS.labels(stream=stream)._value.get() == 1

    entries = await redis_client.xreadgroup(group, "c1", {stream: ">"}, count=10)
    await redis_client.xack(stream, group, *[eid for eid, _ in entries[0][1]])
    await metrics.sample_backlog(redis_client, stream=stream, group=group, dead_stream=dead)
    assert metrics.LAG.labels(stream=stream)._value.get() == 0
    assert metrics.PENDING.labels(stream=stream)._value.get() == 2
    await redis_client.delete(stream, dead)


def test_a_batch_moves_the_counters_and_the_histogram() -> None:
    before = metrics.COMMITTED._value.get(), metrics.BATCH_SECONDS._sum.get()
    metrics.observe_batch(inserted=7, duplicates=1, dead=0, seconds=0.25)
    assert metrics.COMMITTED._value.get() == before[0] + 7
    assert metrics.BATCH_SECONDS._sum.get() == before[1] + 0.25
