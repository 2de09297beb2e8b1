"""Fault tests: real ``ecs`` processes, killed with SIGKILL at moments the test chooses.

Each test starts the processes it needs as subprocesses with the suite's services (database,
Redis, Temporal dev server) and private names (stream, group, task queue), kills or stalls one
part while work is in flight, and asserts counts once the system has recovered by itself. Kill
moments come from observable progress (rows committed, statuses reached), never from sleeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from ecs.settings import Settings

pytestmark = pytest.mark.e2e


@dataclass
class Processes:
    """``ecs`` subprocesses sharing one environment; every one is stopped at teardown."""

    env: dict[str, str]
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: int = 0

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", "ecs", *argv], env=self.env)
        self.running[name] = process
        return process

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hook runs, in-flight work is abandoned mid-step."""
        process = self.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.kills += 1

    def stop_all(self) -> None:
        for process in self.running.values():
            process.terminate()
        for process in self.running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.running.clear()


def fault_env(settings: Settings, redis_url: str, **extra: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECS_", "OTEL_"))}
    env |= {
        "ECS_DATABASE_URL": settings.effective_database_url,
        "ECS_REDIS_URL": redis_url,
        "ECS_TEMPORAL_ADDRESS": settings.temporal_address,
        "ECS_TEMPORAL_TASK_QUEUE": f"faults-{suffix}",
        "ECS_STREAM_NAME": f"emotions-faults-{suffix}",
        "ECS_STREAM_GROUP": f"faults-{suffix}",
        "ECS_PAYLOAD_KEY": settings.payload_key.get_secret_value(),
        "ECS_WORKER_METRICS_PORT": "0",
        "ECS_STREAM_METRICS_PORT": "0",
        "ECS_LOG_LEVEL": "ERROR",  # the faults make the processes warn a lot, by design
        **extra,
    }
    return env


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes(env={})
    yield procs
    procs.stop_all()
