"""The API's token and account caches expire by their injected clocks and forget on demand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine, update

from api.caches import AccountCache, ApiCaches, ConsentCache, TokenCache
from ecs.accounts.tokens import create_access_token, decode_token
from ecs.db.tables import User
from ecs.domain.status import Role
from ecs.settings import Settings
from tests.stream.helpers import make_users
from tests.support import ManualClock


def test_a_token_is_verified_once_until_its_own_expiry(settings: Settings) -> None:
    user = uuid.uuid4()
    token = create_access_token(user, Role.CUSTOMER, settings)
    calls: list[str] = []

    def verify(t: str) -> uuid.UUID:  # the real verifier, counted
        calls.append(t)
        return decode_token(t, settings).id

    clock = ManualClock(start=datetime.now(UTC).timestamp())
    cache = TokenCache(clock=clock)
    assert cache.user_id(token, verify) == user
    assert cache.user_id(token, verify) == user
    assert len(calls) == 1
    clock.advance(settings.jwt_ttl_seconds - 5)
    assert cache.user_id(token, verify) == user
    assert len(calls) == 1
    clock.advance(10)  # past ``exp`` by the cache's clock: never answered from memory
    cache.user_id(token, verify)
    assert len(calls) == 2


def test_forget_drops_every_token_of_the_user(settings: Settings) -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    tokens = [create_access_token(u, Role.CUSTOMER, settings) for u in (user, user, other)]
    calls: list[str] = []

    def verify(t: str) -> uuid.UUID:
        calls.append(t)
        return decode_token(t, settings).id

    cache = TokenCache()
    for token in tokens:
        cache.user_id(token, verify)
    cache.forget(user)
    for token in tokens:
        cache.user_id(token, verify)
    assert calls == [*tokens, tokens[0], tokens[1]]


async def test_an_erased_account_is_refused_after_the_ttl_or_at_once_when_forgotten(
    engine: Engine,
) -> None:
    clock = ManualClock()
    accounts = AccountCache(engine, ttl=10, clock=clock)
    caches = ApiCaches(consent=ConsentCache(engine), accounts=accounts)
    first, second = make_users(engine, 2)
    assert await accounts.usable(first) and await accounts.usable(second)
    with engine.begin() as conn:
        conn.execute(
            update(User)
            .where(User.id.in_([first, second]))  # type: ignore[attr-defined]
            .values(erased_at=datetime.now(UTC))
        )
    assert await accounts.usable(first)  # cached: another instance erased it
    caches.forget(first)  # this instance erased it: at once
    assert not await accounts.usable(first)
    assert await accounts.usable(second)
    clock.advance(10)
    assert not await accounts.usable(second)
    assert not await accounts.usable(uuid.uuid4())
    assert accounts.lookups == 5
