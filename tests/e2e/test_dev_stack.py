"""``ecs dev`` end to end: the real supervisor, real child processes, embedded defaults.

These tests guard the newcomer's first command (``make run``): the stack must become ready, stop
cleanly on SIGTERM with exit code 0, leave no process behind, and resume its state on a second
start. They start whole processes, so every wait polls with a generous deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis
from temporalio.client import Client, WorkflowExecutionStatus

from tests.support import free_port, wait_for

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 90.0


def _stream_consumer_exists() -> bool:
    return importlib.util.find_spec("ecs.stream.consumer") is not None


@dataclass
class DevStack:
    """One ``python -m ecs dev`` run on free ports, logging to a file for failure messages."""

    state_dir: Path
    log_path: Path
    api_port: int = field(default_factory=free_port)
    temporal_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)  # applied after the defaults

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def start(self) -> None:
        env = dict(os.environ)
        # Exercise the embedded defaults even when the suite itself runs on PostgreSQL/Redis.
        for name in ("ECS_DATABASE_URL", "ECS_REDIS_URL", "ECS_TEMPORAL_ADDRESS", "ECS_ENV"):
            env.pop(name, None)
        env["ECS_STATE_DIR"] = str(self.state_dir)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        argv = [
            sys.executable, "-m", "ecs", "dev",
            "--api-port", str(self.api_port),
            "--temporal-port", str(self.temporal_port),
            "--ui-port", str(self.ui_port),
            "--redis-port", str(self.redis_port),
        ]  # fmt: skip
        if not _stream_consumer_exists():
            argv.append("--no-stream")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so the fixture can kill everything if a test fails
            )

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _get(self, url: str) -> int | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"ecs dev exited with {self.process.returncode} before it was ready:\n"
                + self.log_tail()
            )
        try:
            return httpx.get(url, timeout=3).status_code
        except httpx.HTTPError:
            return None

    def wait_ready(self) -> float:
        """Seconds until /readyz is 200 and the Temporal Web UI answers 200."""
        started = time.monotonic()
        try:
            wait_for(
                lambda: self._get(f"{self.api_url}/readyz") == 200,
                timeout=READY_TIMEOUT,
                interval=0.2,
                message="/readyz to answer 200",
            )
            wait_for(
                lambda: self._get(self.ui_url) == 200,
                timeout=READY_TIMEOUT,
                interval=0.2,
                message="the Temporal Web UI to answer 200",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- ecs dev output ---\n{self.log_tail()}") from exc
        return time.monotonic() - started

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"ecs dev did not exit within {STOP_TIMEOUT}s of SIGTERM:\n{self.log_tail()}"
            ) from exc

    def kill_everything(self) -> None:
        """Failure clean-up: the group of ``ecs dev``, then (via PDEATHSIG) its children."""
        if self.process is not None and self.process.poll() is None:
            for pid in descendants(self.process.pid):
                _kill_group(pid)
            _kill_group(self.process.pid)
            self.process.wait(timeout=30)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid``, read from /proc/<pid>/task/*/children recursively."""
    found: set[int] = set()
    pending = [pid]
    while pending:
        current = pending.pop()
        for children_file in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                children = [int(p) for p in children_file.read_text().split()]
            except (OSError, ValueError):
                continue
            for child in children:
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def _start_time(pid: int) -> str | None:
    """The process' start time (field 22 of stat): tells a live process from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has released everything but its pid
        return None
    return fields[19]


def processes_mentioning(needles: list[str]) -> list[str]:
    """Processes (other than us) whose command line names the state dir or one of our ports."""
    hits: list[str] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if _start_time(int(proc.name)) is None:
            continue
        cmdline = " ".join(args)
        if any(n in args or (n.startswith(("/", "127.")) and n in cmdline) for n in needles):
            hits.append(f"{proc.name}: {cmdline}")
    return hits


def assert_nothing_left(stack: DevStack, children: dict[int, str | None]) -> None:
    """All recorded children gone, and no process mentions the state dir or the ports."""
    needles = [str(stack.state_dir)]
    for port in (stack.api_port, stack.temporal_port, stack.ui_port, stack.redis_port):
        needles += [str(port), f"127.0.0.1:{port}"]

    def leftovers() -> list[str]:
        alive = [f"child {pid}" for pid, started in children.items() if _start_time(pid) == started]
        return alive + processes_mentioning(needles)

    try:
        wait_for(lambda: not leftovers(), timeout=15, interval=0.1, message="no leftovers")
    except AssertionError as exc:
        raise AssertionError(f"processes left behind: {leftovers()}") from exc


def record_children(stack: DevStack) -> dict[int, str | None]:
    assert stack.process is not None
    pids = descendants(stack.process.pid)
    return {pid: _start_time(pid) for pid in pids}


@pytest.fixture
def dev_stack(tmp_path: Path) -> Iterator[DevStack]:
    stack = DevStack(state_dir=tmp_path / "state", log_path=tmp_path / "ecs-dev.log")
    try:
        yield stack
    finally:
        stack.kill_everything()


def test_dev_stack_becomes_ready_and_stops_cleanly(dev_stack: DevStack) -> None:
    dev_stack.start()
    seconds = dev_stack.wait_ready()
    print(f"ecs dev ready in {seconds:.1f}s")

    readiness = httpx.get(f"{dev_stack.api_url}/readyz", timeout=5).json()
    assert readiness["checks"] == {"database": "ok", "redis": "ok", "temporal": "ok"}
    assert httpx.get(f"{dev_stack.api_url}/healthz", timeout=5).status_code == 200
    children = record_children(dev_stack)
    expected = 5 if _stream_consumer_exists() else 4  # temporal, redis, api, worker(, stream)
    assert len(children) >= expected, dev_stack.log_tail()

    assert dev_stack.stop() == 0, dev_stack.log_tail()
    assert_nothing_left(dev_stack, children)
    log = dev_stack.log_path.read_text()
    assert "http://127.0.0.1:" in log and "Temporal Web UI" in log  # the banner
    assert "Metrics (worker)" in log and "/metrics" in log  # every metrics URL, too
    # The Temporal server's own warnings go to its log file, not between the stack's lines.
    assert (dev_stack.state_dir / "temporal.log").exists()


async def _start_marker_workflow(address: str, workflow_id: str) -> None:
    """A workflow of an unknown type on an unpolled queue: it simply stays open in temporal.db."""
    client = await Client.connect(address)
    await client.start_workflow(
        "E2EStatePersistenceMarker", id=workflow_id, task_queue=f"e2e-{workflow_id}"
    )


async def _marker_status(address: str, workflow_id: str) -> WorkflowExecutionStatus | None:
    client = await Client.connect(address)
    return (await client.get_workflow_handle(workflow_id).describe()).status


def test_second_start_reuses_the_state(dev_stack: DevStack) -> None:
    workflow_id = f"e2e-marker-{uuid.uuid4().hex[:8]}"
    temporal_address = f"127.0.0.1:{dev_stack.temporal_port}"

    dev_stack.start()
    first = dev_stack.wait_ready()
    asyncio.run(_start_marker_workflow(temporal_address, workflow_id))
    client = redis.Redis.from_url(dev_stack.redis_url)
    client.xadd("e2e-persisted", {"reading": "calm"})
    client.close()
    children = record_children(dev_stack)
    assert dev_stack.stop() == 0, dev_stack.log_tail()
    assert_nothing_left(dev_stack, children)
    assert (dev_stack.state_dir / "temporal.db").is_file()
    assert (dev_stack.state_dir / "ecs.db").is_file()
    assert any((dev_stack.state_dir / "redis").glob("appendonly*"))  # AOF (file or dir)

    dev_stack.start()
    second = dev_stack.wait_ready()
    print(f"ecs dev ready in {first:.1f}s, again in {second:.1f}s")

    status = asyncio.run(_marker_status(temporal_address, workflow_id))
    assert status == WorkflowExecutionStatus.RUNNING
    client = redis.Redis.from_url(dev_stack.redis_url)
    try:
        assert client.xlen("e2e-persisted") == 1
    finally:
        client.close()

    children = record_children(dev_stack)
    assert dev_stack.stop() == 0, dev_stack.log_tail()
    assert_nothing_left(dev_stack, children)


def test_a_taken_port_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("ECS_DATABASE_URL", "ECS_ENV")}
        env["ECS_STATE_DIR"] = str(tmp_path / "state")
        started = time.monotonic()
        argv = [
            sys.executable, "-m", "ecs", "dev",
            "--api-port", str(port),
            "--temporal-port", str(free_port()),
            "--ui-port", str(free_port()),
            "--redis-port", str(free_port()),
        ]  # fmt: skip
        result = subprocess.run(
            argv,
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {port} for the API is already in use" in result.stderr
    assert "--api-port" in result.stderr
    assert time.monotonic() - started < 30  # nothing was started and waited for
    assert not (tmp_path / "state" / "temporal.db").exists()


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        return raw.rstrip("\0").split("\0")
    except OSError:
        return []


def test_a_crashed_child_stops_the_whole_stack_with_an_error(dev_stack: DevStack) -> None:
    """A half-running stack looks healthy while decisions stall: it must fail loudly instead."""
    dev_stack.start()
    dev_stack.wait_ready()
    children = record_children(dev_stack)
    (worker,) = [pid for pid in children if _cmdline(pid)[-2:] == ["ecs", "worker"]]
    os.kill(worker, signal.SIGKILL)

    assert dev_stack.process is not None
    try:
        code = dev_stack.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"ecs dev kept running:\n{dev_stack.log_tail()}") from exc
    assert code != 0
    assert_nothing_left(dev_stack, children)
    assert "child exited unexpectedly" in dev_stack.log_path.read_text()
