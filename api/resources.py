"""Process-wide clients the API shares between requests, created in the app's lifespan."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy import Engine
from temporalio.client import Client

from api.caches import ApiCaches
from ecs.db.engine import get_engine
from ecs.notifications.hub import NotificationHub
from ecs.settings import Settings
from ecs.stream.connection import redis_client
from ecs.temporal.client import connect

log = logging.getLogger("ecs.api")


@dataclass
class Resources:
    """Connections are lazy so the API starts (and reports not-ready) while a dependency is down."""

    settings: Settings
    engine: Engine
    redis: aioredis.Redis
    caches: ApiCaches
    events: NotificationHub
    _temporal: Client | None = None
    _temporal_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def create(cls, settings: Settings) -> Resources:
        redis = redis_client(
            settings,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
            health_check_interval=30,
            max_connections=200,
        )
        engine = get_engine(settings)
        events = NotificationHub(
            settings.effective_redis_url,
            settings.events_channel,
            settings.events_max_streams_per_user,
        )
        return cls(
            settings=settings,
            engine=engine,
            redis=redis,
            caches=ApiCaches.create(engine),
            events=events,
        )

    async def temporal(self) -> Client:
        if self._temporal is not None:
            return self._temporal
        async with self._temporal_lock:
            if self._temporal is None:
                self._temporal = await asyncio.wait_for(connect(self.settings), timeout=5)
                log.info("connected to temporal", extra={"address": self.settings.temporal_address})
            return self._temporal

    async def close(self) -> None:
        await self.events.aclose()
        await self.redis.aclose()
