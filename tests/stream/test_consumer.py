"""The stream consumer against real Redis and the test database.

Every test gets its own stream and group (``isolated``) and polls with deadlines.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import redis.asyncio as aioredis
from sqlalchemy import Engine

from ecs.settings import Settings
from ecs.stream.consumer import StreamConsumer
from ecs.stream.deadletters import dead_letter_stream
from ecs.stream.messages import StreamReading, encode_entry
from ecs.stream.producer import publish
from ecs.stream.trimming import trim_stream
from tests.stream.helpers import (
    assert_daily_matches,
    count_events,
    isolated,
    make_users,
    reading,
    stored_event_ids,
)
from tests.support import async_wait_for


@asynccontextmanager
async def running(
    settings: Settings, redis_client: aioredis.Redis, engine: Engine, **kwargs: Any
) -> AsyncIterator[StreamConsumer]:
    """A consumer running as a task; stopped gracefully (and awaited) on exit."""
    kwargs.setdefault("block_ms", 100)
    consumer = StreamConsumer(settings, redis_client, engine, **kwargs)
    await consumer.ensure_group()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield consumer
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def pending_count(client: aioredis.Redis, s: Settings) -> int:
    summary = await client.xpending(s.stream_name, s.stream_group)
    return int(summary["pending"])


def until_stored(engine: Engine, users: list[uuid.UUID], n: int) -> Callable[[], Any]:
    async def check() -> bool:
        return await asyncio.to_thread(count_events, engine, users) >= n

    return check


async def test_readings_land_exactly_once_and_aggregates_match(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    s = isolated(base_settings, stream_batch_size=200)
    users = make_users(engine, 7)
    rng = random.Random(7)
    readings = [reading(rng.choice(users), rng=rng) for _ in range(900)]
    # Distress edges: exactly on both thresholds counts, just below does not.
    readings += [reading(users[0], stress=0.8, intensity=0.6), reading(users[0], stress=0.79)]
    # Mixed wire shapes: request-sized entries and single-reading entries.
    await publish(redis_client, s.stream_name, readings[:500])
    await publish(redis_client, s.stream_name, readings[500:], per_entry=1)
    # Redelivered duplicates (a client retry, a producer retry): must change nothing.
    await publish(redis_client, s.stream_name, readings[100:250], per_entry=50)

    async with running(s, redis_client, engine) as consumer:
        await async_wait_for(until_stored(engine, users, len(readings)), timeout=30)
        await async_wait_for(lambda: _zero(pending_count(redis_client, s)), timeout=10)
    ids = stored_event_ids(engine, users)
    assert len(ids) == len(set(ids)) == len(readings)
    assert set(ids) == {r.event_id for r in readings}
    assert consumer.totals.duplicates == 150 and consumer.totals.dead == 0
    assert_daily_matches(engine, users, readings)


async def _zero(value: Any) -> bool:
    return await value == 0


async def test_entries_of_a_dead_consumer_are_claimed_without_loss_or_duplicates(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    s = isolated(base_settings, stream_claim_idle_ms=300)
    users = make_users(engine, 5)
    readings = [reading(u) for u in users for _ in range(40)]
    await redis_client.xgroup_create(s.stream_name, s.stream_group, id="0", mkstream=True)
    await publish(redis_client, s.stream_name, readings, per_entry=10)
    # "dead" reads everything and crashes before committing or acknowledging.
    taken = await redis_client.xreadgroup(s.stream_group, "dead", {s.stream_name: ">"}, count=100)
    assert len(taken[0][1]) == 20
    assert await pending_count(redis_client, s) == 20

    async with running(s, redis_client, engine, claim_interval=0.1) as consumer:
        await async_wait_for(until_stored(engine, users, len(readings)), timeout=30)
        await async_wait_for(lambda: _zero(pending_count(redis_client, s)), timeout=10)
    ids = stored_event_ids(engine, users)
    assert sorted(ids) == sorted(r.event_id for r in readings)
    assert consumer.totals.inserted == len(readings)
    assert_daily_matches(engine, users, readings)


async def test_a_crash_after_commit_before_ack_counts_nothing_twice(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    """Committed but never acknowledged: the claimed redelivery must be a no-op."""
    from ecs.stream.consumer import thresholds_from
    from ecs.stream.store import persist

    s = isolated(base_settings, stream_claim_idle_ms=200)
    users = make_users(engine, 2)
    readings = [reading(u) for u in users for _ in range(30)]
    await redis_client.xgroup_create(s.stream_name, s.stream_group, id="0", mkstream=True)
    await publish(redis_client, s.stream_name, readings)
    await redis_client.xreadgroup(s.stream_group, "dead", {s.stream_name: ">"})
    persist(engine, readings, thresholds_from(s))  # committed by "dead", which then died

    async with running(s, redis_client, engine, claim_interval=0.1) as consumer:
        await async_wait_for(lambda: _zero(pending_count(redis_client, s)), timeout=15)
    assert consumer.totals.inserted == 0 and consumer.totals.duplicates == len(readings)
    assert count_events(engine, users) == len(readings)
    assert_daily_matches(engine, users, readings)


async def test_poison_entries_go_to_the_dead_letter_stream(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    s = isolated(base_settings, stream_claim_idle_ms=200, stream_max_deliveries=2)
    users = make_users(engine, 2)
    good = [reading(u) for u in users for _ in range(10)]
    orphan = reading(uuid.uuid4())  # no such user: refused as data (store.UnknownUser)
    mixed = [good[0], orphan, good[1]]
    await redis_client.xgroup_create(s.stream_name, s.stream_group, id="0", mkstream=True)
    # An entry that keeps failing: delivered 3 times (> max 2) to consumers that died.
    retried = await redis_client.xadd(s.stream_name, encode_entry([good[2]]))
    await redis_client.xreadgroup(s.stream_group, "dead", {s.stream_name: ">"}, count=1)
    for _ in range(2):
        await redis_client.xclaim(s.stream_name, s.stream_group, "dead", 0, [retried])
    await publish(redis_client, s.stream_name, mixed)
    await redis_client.xadd(s.stream_name, {"v": "1", "r": "{not json"})
    await redis_client.xadd(s.stream_name, {"v": "9", "r": "[]"})
    bad_metric = encode_entry([good[3]])
    bad_metric[b"r"] = bad_metric[b"r"].replace(b'"stress":', b'"stress":7,"x":')
    await redis_client.xadd(s.stream_name, bad_metric)
    await publish(redis_client, s.stream_name, good[4:])

    dead_stream = dead_letter_stream(s.stream_name)
    async with running(s, redis_client, engine, claim_interval=0.1) as consumer:
        await async_wait_for(lambda: _zero(pending_count(redis_client, s)), timeout=15)
        await async_wait_for(lambda: _xlen_at_least(redis_client, dead_stream, 5), timeout=10)
    try:
        letters = await redis_client.xrange(dead_stream)
        errors = {f[b"dlq_source_id"]: f for _id, f in letters}
        assert len(letters) == 5 and consumer.totals.dead == 5
        assert b"delivered" in errors[retried][b"dlq_error"]
        orphan_letter = next(f for f in errors.values() if b"dlq_index" in f)
        assert orphan_letter[b"dlq_index"] == b"1"
        assert b"UnknownUser" in orphan_letter[b"dlq_error"]
        assert orjson.loads(orphan_letter[b"r"])[0]["event_id"] == str(orphan.event_id)
        poison = [f for f in errors.values() if f[b"dlq_error"].startswith(b"poison")]
        assert len(poison) == 3
        assert any(f[b"r"] == b"{not json" for f in poison)  # original fields kept
        # Everything good around the poison was stored, exactly once.
        expected = {r.event_id for r in good} - {good[2].event_id, good[3].event_id}
        assert set(stored_event_ids(engine, users)) == expected
    finally:
        await redis_client.delete(dead_stream)


async def _xlen_at_least(client: aioredis.Redis, stream: str, n: int) -> bool:
    return int(await client.xlen(stream)) >= n


async def test_trimming_never_removes_pending_or_undelivered_entries(
    base_settings: Settings, redis_client: aioredis.Redis
) -> None:
    s = isolated(base_settings)
    name, group = s.stream_name, s.stream_group
    await redis_client.xgroup_create(name, group, id="0", mkstream=True)
    ids = [await redis_client.xadd(name, {"n": str(i)}) for i in range(12)]

    async def deliver(consumer: str, count: int, ack: bool) -> list[bytes]:
        got = await redis_client.xreadgroup(group, consumer, {name: ">"}, count=count)
        taken = [eid for eid, _f in got[0][1]]
        if ack:
            await redis_client.xack(name, group, *taken)
        return taken

    await deliver("a", 5, ack=True)  # 0-4 done
    stuck = await deliver("dead", 3, ack=False)  # 5-7 pending
    await deliver("a", 2, ack=True)  # 8-9 done; 10-11 never delivered
    assert await trim_stream(redis_client, name) == 5
    remaining = [eid for eid, _f in await redis_client.xrange(name)]
    assert remaining == ids[5:]
    assert stuck == ids[5:8]

    await redis_client.xack(name, group, *stuck)
    await trim_stream(redis_client, name)
    remaining = [eid for eid, _f in await redis_client.xrange(name)]
    assert remaining[-2:] == ids[10:]  # undelivered entries survive
    assert set(remaining) <= set(ids[9:])

    # A second group that has read nothing holds everything back.
    await redis_client.xgroup_create(name, "late-group", id="0")
    before = await redis_client.xlen(name)
    assert await trim_stream(redis_client, name) == 0
    assert await redis_client.xlen(name) == before
    await redis_client.delete(name)


async def test_the_running_consumer_trims_only_what_is_acknowledged(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    s = isolated(base_settings)
    users = make_users(engine, 1)
    await redis_client.xgroup_create(s.stream_name, s.stream_group, id="0", mkstream=True)
    await publish(redis_client, s.stream_name, [reading(users[0])])
    await redis_client.xreadgroup(s.stream_group, "dead", {s.stream_name: ">"})  # stays pending
    later = [reading(users[0]) for _ in range(20)]
    await publish(redis_client, s.stream_name, later, per_entry=1)
    async with running(s, redis_client, engine, trim_interval=0.05) as consumer:
        await async_wait_for(until_stored(engine, users, 20), timeout=15)
        trims_then = consumer.trims

        async def more_trims() -> bool:  # the assertion below is that trimming changes nothing
            return consumer.trims >= trims_then + 3

        await async_wait_for(more_trims, timeout=10, message="three more trim passes")
    assert await redis_client.xlen(s.stream_name) == 21  # the pending entry pins them all
    assert await pending_count(redis_client, s) == 1


async def test_two_consumers_share_a_large_set_exactly_once(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    s = isolated(base_settings, stream_batch_size=250)
    users = make_users(engine, 50)
    rng = random.Random(11)
    readings: list[StreamReading] = [reading(rng.choice(users), rng=rng) for _ in range(6000)]
    await publish(redis_client, s.stream_name, readings[:3000], per_entry=100)
    await publish(redis_client, s.stream_name, readings[3000:4000], per_entry=1)
    async with (
        running(s, redis_client, engine, name="c1") as c1,
        running(s, redis_client, engine, name="c2") as c2,
    ):
        await publish(redis_client, s.stream_name, readings[4000:], per_entry=250)
        await async_wait_for(until_stored(engine, users, len(readings)), timeout=90)
        await async_wait_for(lambda: _zero(pending_count(redis_client, s)), timeout=10)
    ids = stored_event_ids(engine, users)
    assert len(ids) == len(set(ids)) == len(readings)
    assert c1.totals.inserted + c2.totals.inserted == len(readings)
    assert c1.totals.readings > 0 and c2.totals.readings > 0
    assert_daily_matches(engine, users, readings)


async def test_stop_finishes_the_batch_in_hand(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    s = isolated(base_settings)
    users = make_users(engine, 1)
    readings = [reading(users[0]) for _ in range(300)]
    await publish(redis_client, s.stream_name, readings)
    async with running(s, redis_client, engine):
        pass  # stop is requested immediately; whatever was read is committed and acknowledged
    stored = count_events(engine, users)
    pending = await pending_count(redis_client, s)
    assert pending == 0 and stored in (0, 300)


async def test_a_small_first_read_waits_briefly_for_more_entries(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    """Entries arriving within ``ECS_STREAM_LINGER_MS`` of a first read that filled less than
    half a batch join its transaction (fewer, larger transactions under load); with 0 they wait
    for the next one."""
    users = make_users(engine, 1)
    for linger_ms, expected in ((1000, 2), (0, 1)):
        s = isolated(base_settings).model_copy(update={"stream_linger_ms": linger_ms})
        consumer = StreamConsumer(s, redis_client, engine, block_ms=100)
        await consumer.ensure_group()
        await publish(redis_client, s.stream_name, [reading(users[0])])
        task = asyncio.create_task(consumer.read_new())

        async def first_read_done(s: Settings = s, task: asyncio.Task[Any] = task) -> bool:
            return await pending_count(redis_client, s) >= 1 or task.done()

        await async_wait_for(first_read_done, timeout=5, message="the consumer's first read")
        await publish(redis_client, s.stream_name, [reading(users[0])])
        outcome = await asyncio.wait_for(task, 10)
        assert (outcome.entries, outcome.readings) == (expected, expected), linger_ms


async def test_readings_of_users_without_consent_are_dropped_not_stored(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    """Readings already in the stream when consent is withdrawn must not be stored."""
    s = isolated(base_settings)
    consenting = make_users(engine, 1)
    withdrawn = make_users(engine, 1, consent=False)
    kept = [reading(consenting[0]) for _ in range(5)]
    dropped = [reading(withdrawn[0]) for _ in range(7)]
    await redis_client.xgroup_create(s.stream_name, s.stream_group, id="0", mkstream=True)
    await publish(redis_client, s.stream_name, kept + dropped, per_entry=4)

    async with running(s, redis_client, engine) as consumer:
        await async_wait_for(until_stored(engine, consenting, len(kept)), timeout=15)
        await async_wait_for(lambda: _zero(pending_count(redis_client, s)), timeout=10)
    assert stored_event_ids(engine, withdrawn) == []
    assert sorted(stored_event_ids(engine, consenting)) == sorted(r.event_id for r in kept)
    assert consumer.totals.dead == 0
    assert await redis_client.xlen(dead_letter_stream(s.stream_name)) == 0


class FakeClock:
    """Monotonic time a few seconds after boot (where "never" read as 0.0 would go wrong)."""

    def __init__(self, now: float = 3.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _abandon_one(client: aioredis.Redis, s: Settings, user: uuid.UUID) -> bytes:
    """An entry read by a consumer that died, idle long enough to be claimed."""
    entry_id = bytes(await client.xadd(s.stream_name, encode_entry([reading(user)])))
    await client.xreadgroup(s.stream_group, "dead", {s.stream_name: ">"}, count=1)

    async def idle() -> bool:
        info = await client.xpending_range(s.stream_name, s.stream_group, entry_id, entry_id, 1)
        return bool(info) and info[0]["time_since_delivered"] > s.stream_claim_idle_ms

    await async_wait_for(idle, timeout=5, message="the abandoned entry to be idle")
    return entry_id


async def test_claims_run_on_the_injected_clock_and_the_first_is_due_at_once(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    s = isolated(base_settings, stream_claim_idle_ms=5)
    users = make_users(engine, 1)
    clock = FakeClock(3.0)  # 3 s after boot, far less than the claim interval
    consumer = StreamConsumer(s, redis_client, engine, claim_interval=60, block_ms=50, clock=clock)
    await consumer.ensure_group()

    await _abandon_one(redis_client, s, users[0])
    assert (await consumer.step()).entries == 1  # never claimed before: due at once
    assert (await consumer.step()).entries == 0  # found nothing more: next claim in 60 s

    await _abandon_one(redis_client, s, users[0])
    assert (await consumer.step()).entries == 0  # 60 s have not passed on the clock
    clock.now += 60
    assert (await consumer.step()).entries == 1
    assert consumer.totals.inserted == 2 and await pending_count(redis_client, s) == 0


async def test_trim_passes_run_on_the_injected_clock(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    s = isolated(base_settings)
    clock = FakeClock(3.0)
    consumer = StreamConsumer(s, redis_client, engine, trim_interval=10, block_ms=10, clock=clock)
    await consumer.ensure_group()
    await consumer.step()
    clock.now += 9.9
    await consumer.step()
    assert consumer.trims == 0
    clock.now += 0.1
    await consumer.step()
    await consumer.step()
    assert consumer.trims == 1
