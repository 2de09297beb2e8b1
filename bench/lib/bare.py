"""The bare workflow ``bench.decisions`` compares ECS with: same activity mix, no database.

Trivial activities shaped like the real ones, with the same retry policies and timeouts as
``CreditDecisionWorkflow``. The default mix is the real request → offer path: fetch_history,
score and approve as *local* activities, then notify as a regular one; ``mix="regular"`` runs all
four as regular activities (the pre-local-activity shape).

The workflow sandbox re-imports this module for every bare workflow run (as it re-imports
``workflows/credit_decision.py`` for the real one), so it imports nothing heavy at module level:
the worker's own imports happen inside the functions that run outside the sandbox.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client
    from temporalio.worker import Worker

if TYPE_CHECKING:
    from ecs.settings import Settings

WORKFLOW_NAME = "BenchBareWorkflow"
TASK_QUEUE_ENV = "BENCH_BARE_TASK_QUEUE"
RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), backoff_coefficient=2.0)
LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=500)
MIXES = ("local", "regular")
MIX_LABELS = {"local": "3 local + 1 regular activity", "regular": "4 regular activities"}
LOCAL_STEPS = ("bare_fetch_history", "bare_score", "bare_approve")
REGULAR_STEPS = ("bare_notify",)


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


ACTIVITIES: list[Callable[..., Any]] = [bare_fetch_history, bare_score, bare_approve, bare_notify]


@workflow.defn(name=WORKFLOW_NAME)
class BareWorkflow:
    """``mix="local"``: 3 local + 1 regular activity (as the real decision path);
    ``mix="regular"``: all 4 regular."""

    @workflow.run
    async def run(self, user_id: str, mix: str = "local") -> str:
        for step in LOCAL_STEPS:
            user_id = await run_step(step, user_id, local=mix == "local")
        for step in REGULAR_STEPS:
            user_id = await run_step(step, user_id, local=False)
        return user_id


async def run_step(name: str, user_id: str, *, local: bool) -> str:
    """One activity with the real path's timeout and retry policy, local or regular."""
    result: str
    if local:
        result = await workflow.execute_local_activity(
            name,
            user_id,
            result_type=str,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            local_retry_threshold=LOCAL_RETRY_THRESHOLD,
        )
    else:
        result = await workflow.execute_activity(
            name,
            user_id,
            result_type=str,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
        )
    return result


def bare_worker(
    client: Client, task_queue: str, executor: ThreadPoolExecutor, settings: Settings
) -> Worker:
    """As ``worker.create_worker``: same executor, slots, shutdown grace and workflow runner
    (``ECS_WORKFLOW_SANDBOX`` chooses for both, so the floor stays a floor)."""
    from worker import GRACEFUL_SHUTDOWN, workflow_runner

    return Worker(
        client,
        task_queue=task_queue,
        workflows=[BareWorkflow],
        workflow_runner=workflow_runner(settings),
        activities=list(ACTIVITIES),
        activity_executor=executor,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        max_concurrent_activities=executor._max_workers,
    )


async def _run_worker() -> None:
    from ecs.settings import Settings
    from worker import cache_workflow_bytecode, connect_with_retry

    settings = Settings()
    if settings.workflow_sandbox:  # as the real worker: the floor must not pay a compile per run
        cache_workflow_bytecode()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await connect_with_retry(settings)
    with ThreadPoolExecutor(max_workers=64, thread_name_prefix="activity") as executor:
        async with bare_worker(client, os.environ[TASK_QUEUE_ENV], executor, settings):
            await stop.wait()


WORKER_COMMAND = "from bench.lib.bare import worker_main; worker_main()"
"""``python -c`` this: the module keeps its name (never ``__main__``, which the sandbox would
re-import as a different module)."""


def worker_main() -> None:
    """Entry point of the bare worker subprocess, on the queue ``BENCH_BARE_TASK_QUEUE`` names."""
    asyncio.run(_run_worker())
