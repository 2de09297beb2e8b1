"""Operators replay dead letters once the cause is fixed; nothing is lost or stored twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis
from sqlalchemy import Engine, insert

from ecs.db.tables import User
from ecs.settings import Settings
from ecs.stream.deadletters import dead_letter_stream, list_dead_letters, replay_dead_letters
from ecs.stream.producer import publish
from tests.stream.helpers import isolated, reading, stored_event_ids
from tests.stream.test_consumer import _zero, pending_count, running
from tests.support import async_wait_for


async def test_replay_after_the_cause_is_fixed_stores_the_reading_once(
    base_settings: Settings, engine: Engine, redis_client: aioredis.Redis
) -> None:
    s = isolated(base_settings)
    late_user = uuid.uuid4()  # readings arrive before the user row exists (a sync lag, say)
    orphan = reading(late_user)
    await redis_client.xgroup_create(s.stream_name, s.stream_group, id="0", mkstream=True)
    await publish(redis_client, s.stream_name, [orphan])
    try:
        async with running(s, redis_client, engine) as consumer:
            await async_wait_for(lambda: _dead_count(redis_client, s, 1), timeout=15)
            assert consumer.totals.dead == 1
        [letter] = await list_dead_letters(redis_client, s.stream_name)
        assert "UnknownUser" in letter.error
        assert not any(k.startswith(b"dlq_") for k in letter.fields)

        with engine.begin() as conn:  # the operator fixes the cause
            conn.execute(
                insert(User.__table__),  # type: ignore[attr-defined]
                [{"id": late_user, "email": f"{late_user.hex}@late.test", "password_hash": "x",
                  "role": "customer", "consent_emotion_processing": True,
                  "created_at": datetime.now(UTC)}],
            )  # fmt: skip
        assert await replay_dead_letters(redis_client, s.stream_name) == 1
        assert await redis_client.xlen(dead_letter_stream(s.stream_name)) == 0
        assert await replay_dead_letters(redis_client, s.stream_name) == 0  # nothing left

        async with running(s, redis_client, engine):
            await async_wait_for(lambda: _zero(pending_count(redis_client, s)), timeout=15)
            await async_wait_for(
                lambda: _stored(engine, late_user), timeout=15, message="the replayed reading"
            )
        assert stored_event_ids(engine, [late_user]) == [orphan.event_id]
    finally:
        await redis_client.delete(dead_letter_stream(s.stream_name))


async def _dead_count(client: aioredis.Redis, s: Settings, n: int) -> bool:
    return int(await client.xlen(dead_letter_stream(s.stream_name))) >= n


async def _stored(engine: Engine, user_id: uuid.UUID) -> bool:
    return bool(stored_event_ids(engine, [user_id]))
