"""The ingest path's consent cache keeps the database off the hot path, even on expiry."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import Engine, update

from api.caches import ConsentCache
from ecs.db.tables import User
from tests.stream.helpers import make_users
from tests.support import ManualClock, async_wait_for


def _set_consent(engine: Engine, user_id: uuid.UUID, allowed: bool) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(User).where(User.id == user_id).values(consent_emotion_processing=allowed)
        )


async def test_concurrent_misses_share_one_lookup(engine: Engine) -> None:
    cache = ConsentCache(engine)
    users = make_users(engine, 3)
    answers = await asyncio.gather(*(cache.consented(users) for _ in range(50)))
    assert all(a == dict.fromkeys(users, True) for a in answers)
    assert cache.lookups == 1


async def test_misses_and_expiries_of_different_users_are_read_in_one_lookup(
    engine: Engine,
) -> None:
    """One query for every user queued meanwhile, not one per user: with many users on a short
    TTL, per-user lookups would cost the API more CPU than the readings themselves."""
    clock = ManualClock()
    cache = ConsentCache(engine, ttl=10, clock=clock)
    users = make_users(engine, 40)
    answers = await asyncio.gather(*(cache.consented([u]) for u in users))
    assert answers == [{u: True} for u in users] and cache.lookups == 1
    _set_consent(engine, users[0], False)
    clock.advance(12.5)  # every entry past its freshness: each request queues a refresh
    await asyncio.gather(*(cache.consented([u]) for u in users))

    async def refreshed() -> bool:
        return (await cache.consented([users[0]]))[users[0]] is False

    await async_wait_for(refreshed, timeout=5, message="the background refresh")
    assert cache.lookups == 2


async def test_unknown_users_have_no_consent(engine: Engine) -> None:
    stranger = uuid.uuid4()
    assert await ConsentCache(engine).consented([stranger]) == {stranger: False}


async def test_expired_entries_answer_at_once_and_refresh_in_the_background(
    engine: Engine,
) -> None:
    clock = ManualClock()
    cache = ConsentCache(engine, ttl=10, clock=clock)
    [user] = make_users(engine, 1)
    assert await cache.consented([user]) == {user: True}
    _set_consent(engine, user, False)
    clock.advance(12.5)  # past its freshness (at most 1.2 x ttl), within its staleness bound

    assert await cache.consented([user]) == {user: True}  # the stale answer, from memory

    async def refreshed() -> bool:
        return (await cache.consented([user]))[user] is False

    await async_wait_for(refreshed, timeout=5, message="the background refresh")
    assert cache.lookups == 2


async def test_forget_applies_a_local_change_immediately(engine: Engine) -> None:
    cache = ConsentCache(engine, ttl=3600)
    [user] = make_users(engine, 1)
    assert await cache.consented([user]) == {user: True}
    _set_consent(engine, user, False)
    assert await cache.consented([user]) == {user: True}  # cached for an hour...
    cache.forget(user)
    assert await cache.consented([user]) == {user: False}  # ...unless this instance changed it


async def test_entries_past_their_staleness_bound_are_read_again(engine: Engine) -> None:
    clock = ManualClock()
    cache = ConsentCache(engine, ttl=10, clock=clock)
    [user] = make_users(engine, 1)
    assert await cache.consented([user]) == {user: True}
    _set_consent(engine, user, False)
    clock.advance(cache.ttl * cache.MAX_STALENESS * 1.3)  # too old to answer even while refreshing
    assert await cache.consented([user]) == {user: False}
    assert cache.lookups == 2
