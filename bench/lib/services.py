"""The services and settings of one run: database, Redis, Temporal, users, child environment.

Every run is private (its own task queue, stream, consumer group and JWT secret) and leaves
nothing behind: a throwaway PostgreSQL database is dropped, a bundled Redis is stopped. The
Temporal dev server runs in memory with the dynamic config of ``ecs.temporal.devserver``, the one
``ecs dev`` and the tests use (docs/design.md says why each value).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from psycopg import sql
from sqlalchemy import Engine, insert

from bench.lib.stack import Stack, free_port
from ecs.db.migrate import upgrade
from ecs.db.tables import Transaction, User
from ecs.domain.status import Role
from ecs.embedded_redis import start_redis
from ecs.settings import Environment, Settings
from ecs.supervisor import accepts
from ecs.temporal.devserver import find_binary, server_args

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def setup_database(stack: Stack, url: str | None) -> tuple[str, str]:
    """(url, description): the given URL, a throwaway PostgreSQL database, or SQLite."""
    if url:
        upgrade(url)
        kind = "PostgreSQL" if url.startswith("postgres") else url.split(":", 1)[0]
        return url, f"{kind} (given; bench users are left in it)"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=2)
    except psycopg.Error:
        path = stack.tmp / "ecs.db"
        upgrade(f"sqlite:///{path}")
        return f"sqlite:///{path}", "SQLite (PostgreSQL not reachable), temp file"
    name = f"ecs_bench_{uuid.uuid4().hex[:10]}"
    with admin:
        version = admin.execute("SHOW server_version").fetchone()
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        print(f"  dropped database {name}")

    stack.cleanups.append(drop)
    db_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(db_url)
    return db_url, f"PostgreSQL {version[0] if version else '?'} (throwaway database {name})"


def setup_redis(stack: Stack, url: str | None) -> tuple[str, str]:
    """(url, description): the given URL, else 127.0.0.1:6379, else a bundled redis-server."""
    wanted = url or DEFAULT_REDIS_URL
    client = redis.Redis.from_url(wanted, socket_connect_timeout=1)
    try:
        client.ping()
        return wanted, wanted
    except redis.RedisError:
        if url:
            raise
    finally:
        client.close()
    port = free_port()
    process = start_redis(port, stack.tmp / "redis", persist=False)
    stack.processes.append(("redis", process))
    return f"redis://127.0.0.1:{port}/0", f"bundled redis-server on :{port} (6379 unreachable)"


def bench_settings(
    stack: Stack, name: str, database_url: str, redis_url: str, **extra: str
) -> Settings:
    """Settings of one benchmark run: private queue and stream names, a fresh JWT secret, and a
    Temporal port that ``start_temporal`` will serve."""
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        _env_file=None,
        env=Environment.DEVELOPMENT,
        state_dir=stack.tmp / "state",
        database_url=database_url,
        redis_url=redis_url,
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_task_queue=f"bench-{name}-{suffix}",
        stream_name=f"bench-{name}-{suffix}",
        jwt_secret=f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        **extra,  # type: ignore[arg-type]
    )


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The user's environment without any ECS_* variable, plus this run's settings and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECS_")}
    env.update(
        {
            "ECS_ENV": settings.env.value,
            "ECS_STATE_DIR": str(settings.state_dir),
            "ECS_DATABASE_URL": settings.database_url,
            "ECS_REDIS_URL": settings.redis_url,
            "ECS_TEMPORAL_ADDRESS": settings.temporal_address,
            "ECS_TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
            "ECS_JWT_SECRET": settings.jwt_secret.get_secret_value(),
            "ECS_PAYLOAD_KEY": settings.payload_key.get_secret_value(),
            "ECS_STREAM_NAME": settings.stream_name,
            "ECS_STREAM_GROUP": settings.stream_group,
            "ECS_STREAM_SHARDS": str(settings.stream_shards),
            "ECS_STREAM_BATCH_SIZE": str(settings.stream_batch_size),
            "ECS_REDIS_CLUSTER": str(settings.redis_cluster).lower(),
            "ECS_LOG_LEVEL": settings.log_level,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


def start_temporal(stack: Stack, settings: Settings) -> None:
    """The dev server (in memory, the dynamic config of docs/design.md) on the settings' port."""
    port = int(settings.temporal_address.rsplit(":", 1)[1])
    stack.spawn(
        "temporal",
        [find_binary("temporal"), *server_args(port=port, ui_port=None, db_filename=None)],
    )
    stack.wait_until("the Temporal dev server", lambda: accepts(port), timeout=90)


async def wait_ready(stack: Stack, http: httpx.AsyncClient, timeout: float = 60) -> None:
    """Until the API's ``/readyz`` answers 200 (its database, Redis and Temporal are up)."""
    deadline = time.monotonic() + timeout
    while True:
        stack.check_alive()
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get("/readyz")).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API did not become ready within {timeout:.0f} s")
        await asyncio.sleep(0.2)


def create_users(engine: Engine, count: int) -> list[uuid.UUID]:
    """Customers with four months of salary and spending (as tests/factories.make_user), so the
    policy approves them. Bulk inserts: thousands of users take a second or two."""
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    users = [
        {
            "id": u,
            "email": f"bench-{u.hex}@bench.test",
            "password_hash": "not-used",
            "role": Role.CUSTOMER.value,
            "consent_emotion_processing": True,
            "created_at": now,
        }
        for u in ids
    ]
    txs: list[dict[str, Any]] = []
    for u in ids:
        for month in range(4):
            day = now - timedelta(days=30 * month + 2)
            txs.append(_tx(u, Decimal("5000"), "in", day, now))
            txs += [
                _tx(u, Decimal("1000.00"), "out", day - timedelta(days=part * 7 + 1), now)
                for part in range(3)
            ]
    with engine.begin() as conn:
        for start in range(0, count, 500):
            conn.execute(insert(User.__table__), users[start : start + 500])  # type: ignore[attr-defined]
        for start in range(0, len(txs), 5000):
            conn.execute(insert(Transaction.__table__), txs[start : start + 5000])  # type: ignore[attr-defined]
    return ids


def _tx(
    user: uuid.UUID, amount: Decimal, direction: str, when: datetime, now: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "user_id": user,
        "amount": amount,
        "direction": direction,
        "occurred_at": when,
        "created_at": now,
    }
