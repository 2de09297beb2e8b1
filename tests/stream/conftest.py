"""Fixtures of the stream tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine

from ecs.db.engine import make_engine
from ecs.db.migrate import upgrade
from tests.support import fresh_postgres_database


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A raw client on the suite's Redis (tests use private stream names)."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
def pg() -> Iterator[Engine]:
    """A fresh PostgreSQL database migrated to head, per module (partitions and all)."""
    server = os.environ.get("ECS_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("PostgreSQL-only case: set ECS_TEST_POSTGRES_URL (CI always does)")
    with fresh_postgres_database(server) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
