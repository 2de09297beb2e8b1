"""The stream's Redis client: one node, or a Redis Cluster (``ECS_REDIS_CLUSTER=true``).

A setting rather than a URL scheme: ``ECS_REDIS_URL`` stays a plain ``redis://`` / ``rediss://``
URL that every Redis tool understands (here it names any one node of the cluster; the client
discovers the others and follows MOVED/ASK redirections), and a deployment switches engines
without rewriting URLs.

redis-py's ``RedisCluster`` speaks the same command API as ``Redis`` (both are built from the
same command mix-ins) but is not its subclass; it is returned under the ``Redis`` type so the
stream code has one shape to call. What the stream sends a cluster is per key, or per slot
(XREADGROUP of one key, XACK, XAUTOCLAIM; dead letters share their shard's hash tag), so no
command crosses slots.
"""

from __future__ import annotations

from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from ecs.settings import Settings


def redis_client(settings: Settings, **options: Any) -> aioredis.Redis:
    """A client for ``settings.effective_redis_url``; ``options`` go to the connections."""
    url = settings.effective_redis_url
    if not settings.redis_cluster:
        return aioredis.Redis.from_url(url, **options)
    return cast(aioredis.Redis, RedisCluster.from_url(url, **options))
