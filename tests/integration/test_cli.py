"""The ``ecs`` command line against the suite's real database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from ecs.db.tables import User
from ecs.settings import Settings


def _ecs(
    settings: Settings, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECS_")}
    env["ECS_DATABASE_URL"] = settings.effective_database_url
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "ecs", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_create_user_makes_an_analyst_once(base_settings: Settings, engine: Engine) -> None:
    email = f"analyst-{uuid.uuid4().hex[:8]}@example.com"
    created = _ecs(base_settings, "create-user", "--email", email, "--password", "p" * 16)
    assert created.returncode == 0, created.stderr
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == email)).one()
    assert user.role == "analyst" and str(user.id) in created.stdout

    again = _ecs(base_settings, "create-user", "--email", email, "--password", "p" * 16)
    assert again.returncode == 1 and "already registered" in again.stderr


def test_create_user_refuses_a_short_password(base_settings: Settings, engine: Engine) -> None:
    email = f"analyst-{uuid.uuid4().hex[:8]}@example.com"
    refused = _ecs(base_settings, "create-user", "--email", email, "--password", "short")
    assert refused.returncode == 2 and "12 to 256 characters" in refused.stderr
    with Session(engine) as session:
        assert session.exec(select(User).where(User.email == email)).first() is None


def test_migrate_is_idempotent(base_settings: Settings) -> None:
    result = _ecs(base_settings, "migrate")
    assert result.returncode == 0, result.stderr
    assert "database migrated" in result.stdout


def test_dead_letters_list_and_replay_from_the_command_line(
    base_settings: Settings, redis_url: str
) -> None:
    import redis

    stream = f"cli-dead-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    client.xadd(f"{stream}:dead", {"v": "1", "r": "[]", "dlq_error": "poison: empty entry"})
    env_settings = base_settings.model_copy(update={"redis_url": redis_url})
    try:
        extra = {"ECS_REDIS_URL": redis_url, "ECS_STREAM_NAME": stream}
        listed = _ecs(env_settings, "dead-letters", "list", extra_env=extra)
        assert listed.returncode == 0, listed.stderr
        assert "poison: empty entry" in listed.stdout
        replayed = _ecs(env_settings, "dead-letters", "replay", extra_env=extra)
        assert replayed.returncode == 0 and "replayed 1" in replayed.stdout
        assert client.xlen(f"{stream}:dead") == 0
        entries: Any = client.xrange(stream)  # redis-py types every reply shape at once
        assert entries[0][1] == {b"v": b"1", b"r": b"[]"}
    finally:
        client.delete(stream, f"{stream}:dead")
        client.close()
