"""The ``ecs`` command line against the suite's real database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from sqlalchemy import Engine
from sqlmodel import Session, select

from ecs.db.tables import User
from ecs.settings import Settings


def _ecs(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECS_")}
    env["ECS_DATABASE_URL"] = settings.effective_database_url
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


def test_migrate_is_idempotent(base_settings: Settings) -> None:
    result = _ecs(base_settings, "migrate")
    assert result.returncode == 0, result.stderr
    assert "database migrated" in result.stdout
