"""The ingest path's consent cache keeps the database off the hot path, even on expiry."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy import Engine, update

from api.routes.emotions import ConsentCache
from ecs.db.tables import User
from tests.stream.helpers import make_users
from tests.support import async_wait_for


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


async def test_unknown_users_have_no_consent(engine: Engine) -> None:
    stranger = uuid.uuid4()
    assert await ConsentCache(engine).consented([stranger]) == {stranger: False}


async def test_expired_entries_answer_at_once_and_refresh_in_the_background(
    engine: Engine,
) -> None:
    cache = ConsentCache(engine, ttl=0.05)
    [user] = make_users(engine, 1)
    assert await cache.consented([user]) == {user: True}
    _set_consent(engine, user, False)
    await asyncio.sleep(0.07)  # poll: let the entry age past its freshness (within staleness)

    started = time.monotonic()
    assert await cache.consented([user]) == {user: True}  # stale answer, no waiting
    assert time.monotonic() - started < 0.02

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
