"""Fixtures of the stream tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A raw client on the suite's Redis (tests use private stream names)."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()
