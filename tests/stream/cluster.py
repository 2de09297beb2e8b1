"""A real three-master Redis Cluster on loopback, started and removed by the test that needs it.

Each node is the machine's ``redis-server`` in cluster mode on a free port, with its cluster bus
on a second free port (``--cluster-port``, Redis 7), state in a temporary directory; the nodes are
joined with ``redis-cli --cluster create``. The suite's shared Redis is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.support import free_port, wait_for

MASTERS = 3


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"the Redis Cluster tests need {name} (Redis 7) on PATH; install redis-server")
    return path


def _cluster_ok(port: int) -> bool:
    client = redis.Redis(port=port, socket_connect_timeout=1)
    try:
        info = client.cluster("info")
        text = info if isinstance(info, str) else str(info)
        return "cluster_state:ok" in text or bool(
            isinstance(info, dict) and info.get("cluster_state") == "ok"
        )
    except redis.RedisError:
        return False
    finally:
        client.close()


@contextmanager
def redis_cluster(directory: Path) -> Iterator[str]:
    """Start the cluster; yields the URL of one node (the client discovers the others)."""
    server, cli = _binary("redis-server"), _binary("redis-cli")
    ports = [free_port() for _ in range(MASTERS)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            node = directory / f"node-{port}"
            node.mkdir()
            command = [
                server, "--port", str(port), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-port", str(free_port()),
                "--cluster-config-file", str(node / "nodes.conf"),
                "--cluster-node-timeout", "5000", "--dir", str(node),
                "--appendonly", "no", "--save", "", "--protected-mode", "no",
            ]  # fmt: skip
            processes.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        for port in ports:
            wait_for(lambda p=port: _pings(p), timeout=15, message=f"redis node on {port}")
        nodes = [f"127.0.0.1:{p}" for p in ports]
        create = [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"]
        subprocess.run(create, check=True, capture_output=True, timeout=60)
        for port in ports:
            wait_for(lambda p=port: _cluster_ok(p), timeout=30, message=f"cluster ok on {port}")
        yield f"redis://127.0.0.1:{ports[0]}/0"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _pings(port: int) -> bool:
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
