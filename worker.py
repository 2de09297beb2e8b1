"""Temporal worker entry point: ``python worker.py`` (or ``ecs worker``).

Runs the credit-decision workflows and their activities. SIGINT/SIGTERM stop polling, let running
activities finish within a grace period, then exit: Temporal re-dispatches anything unfinished to
another worker, so a restart never loses a decision.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import shutil
import signal
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.registry import build_activities
from ecs.heap import startup_heap_frozen
from ecs.logs import configure_logging
from ecs.observability import worker_runtime
from ecs.proactive import schedule
from ecs.settings import Settings, get_settings
from ecs.temporal.client import connect
from ecs.tracing import setup_tracing
from workflows.registry import WORKFLOWS

log = logging.getLogger("ecs.worker")
GRACEFUL_SHUTDOWN = timedelta(seconds=20)


# Our message and domain modules are pure (pydantic + stdlib, no mutable module state), so the
# sandbox may share them instead of re-importing them for every workflow run (~7 % of worker CPU).
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("ecs", "activities")
)


def workflow_runner(settings: Settings) -> WorkflowRunner:
    """Where the worker runs workflow code: outside the sandbox unless ``ECS_WORKFLOW_SANDBOX``.

    The sandbox re-imports a workflow's module for every run and wraps every activation and
    every payload's serialization context in an ``exec`` under patched imports: a third of the
    worker's Python time (``py-spy --gil``). Measured with ``bench/decisions.py`` (10
    decisions/s, the ``make run`` stack, 2 cores): the worker's CPU per decision fell from 96
    to 71 ms without it, and request → offer p50 from 1,126 ms (the machine saturated) to
    143 to 211 ms. What it guards, determinism, is guarded before code ships instead: every
    in-process worker of the test suite runs in ``SANDBOX``, the committed histories are
    replayed in the sandbox (``tests/workflows/test_replay.py``), and a test keeps I/O
    libraries out of workflow modules (``tests/workflows/test_workflow_imports.py``). A
    workflow that reads the clock fails those tests (``tests/workflows/test_sandbox_guard.py``).
    """
    return SANDBOX if settings.workflow_sandbox else UnsandboxedWorkflowRunner()


def cache_workflow_bytecode() -> None:
    """Let the sandbox's per-run import of a workflow module read cached bytecode.

    The sandbox imports the workflow's module afresh for every workflow run it creates (that is
    how it isolates module state). Where bytecode is not written (``PYTHONDONTWRITEBYTECODE``, as
    on this machine and in many container images) every one of those imports compiled the module
    from source: the largest single cost of a new decision on the worker (measured with py-spy,
    ``bench/README.md``). A private directory (mode 0700, removed at exit) keeps the cache out of
    the source tree and out of reach of other local users, who could otherwise plant bytecode.
    """
    if not sys.dont_write_bytecode or sys.pycache_prefix is not None:
        return
    directory = tempfile.mkdtemp(prefix="ecs-worker-bytecode-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    sys.pycache_prefix = directory
    sys.dont_write_bytecode = False


def create_worker(client: Client, settings: Settings, executor: ThreadPoolExecutor) -> Worker:
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(settings),
        activities=build_activities(settings),
        activity_executor=executor,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        max_concurrent_activities=executor._max_workers,
    )


async def run_worker(settings: Settings) -> None:
    if settings.workflow_sandbox:
        cache_workflow_bytecode()
    client = await connect_with_retry(settings)
    await register_schedules(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=64, thread_name_prefix="activity") as executor:
        worker = create_worker(client, settings, executor)
        log.info("worker started", extra={"task_queue": settings.temporal_task_queue})
        async with worker:
            with startup_heap_frozen():
                await stop.wait()
            log.info("worker stopping: draining activities")
    log.info("worker stopped")


async def register_schedules(client: Client, settings: Settings) -> None:
    """The proactive-offers schedule (``ecs.proactive.schedule``: why here). A failure is logged,
    not fatal: the decisions this worker runs matter more, and the next start registers it."""
    if not settings.proactive_enabled:
        return
    try:
        await schedule.register(client, settings)
    except Exception:
        log.exception("could not register the proactive-offers schedule")


async def connect_with_retry(settings: Settings, attempts: int = 60) -> Client:
    """The worker may start before the Temporal server is ready (compose, ``ecs dev``).

    Its client runs on a Temporal runtime serving Prometheus on ``ECS_WORKER_METRICS_PORT``."""
    runtime = worker_runtime(settings.metrics_host, settings.worker_metrics_port)
    for attempt in range(1, attempts + 1):
        try:
            return await connect(settings, runtime)
        except Exception as exc:
            if attempt == attempts:
                raise
            log.warning("temporal not reachable yet", extra={"attempt": attempt, "error": str(exc)})
            await asyncio.sleep(min(0.2 * attempt, 2.0))
    raise AssertionError("unreachable")


def main() -> None:
    settings = get_settings()
    configure_logging("worker", settings.log_level, settings.log_format)
    setup_tracing("worker")
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
