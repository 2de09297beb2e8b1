"""The accept floor: what an update and one activity cost on this Temporal, with no ECS at all.

``BenchAcceptFloorWorkflow`` waits for an ``accept`` update (a trivial validator and handler, as
the real one), then runs one trivial regular activity shaped like ``accept_and_deploy`` and ends.
``bench.decisions`` starts these ahead of time, so the timed part is only what an accept costs:

* update sent → update answered: the floor under ECS's accept → 202 (the API adds its two reads
  and HTTP);
* update sent → workflow result: an upper bound of the floor under accept → ACTIVE (the real
  deploy commits inside the activity, before the activity's completion and the last workflow
  task this figure includes).

Its worker is a subprocess of its own with the same settings as ``bench.lib.bare``'s (the bare
worker's module is another engineer's). Nothing heavy is imported at module level: the sandbox
re-imports this module for every run.
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client
    from temporalio.worker import Worker

    from bench.lib.bare import RETRY

WORKFLOW_NAME = "BenchAcceptFloorWorkflow"
TASK_QUEUE_ENV = "BENCH_FLOOR_TASK_QUEUE"


@activity.defn(name="floor_accept_and_deploy")
def floor_accept_and_deploy(user_id: str) -> str:
    return user_id


@workflow.defn(name=WORKFLOW_NAME)
class AcceptFloorWorkflow:
    def __init__(self) -> None:
        self._accepted = False

    @workflow.run
    async def run(self, user_id: str) -> str:
        await workflow.wait_condition(lambda: self._accepted)
        result: str = await workflow.execute_activity(
            floor_accept_and_deploy,
            user_id,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
        )
        return result

    @workflow.update(name="accept")
    def accept(self, user_id: str) -> str:
        self._accepted = True
        return user_id

    @accept.validator
    def _validate(self, user_id: str) -> None:
        if self._accepted:
            raise ValueError("already accepted")


WORKER_COMMAND = "from bench.lib.floor import worker_main; worker_main()"


async def _run_worker() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from ecs.settings import Settings
    from worker import (
        GRACEFUL_SHUTDOWN,
        cache_workflow_bytecode,
        connect_with_retry,
        workflow_runner,
    )

    settings = Settings()
    if settings.workflow_sandbox:  # as the real worker: the floor must not pay a compile per run
        cache_workflow_bytecode()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client: Client = await connect_with_retry(settings)
    with ThreadPoolExecutor(max_workers=64, thread_name_prefix="activity") as executor:
        async with Worker(
            client,
            task_queue=os.environ[TASK_QUEUE_ENV],
            workflows=[AcceptFloorWorkflow],
            workflow_runner=workflow_runner(settings),
            activities=[floor_accept_and_deploy],
            activity_executor=executor,
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
            max_concurrent_activities=64,
        ):
            await stop.wait()


def worker_main() -> None:
    """Entry point of the floor worker subprocess, on the queue ``BENCH_FLOOR_TASK_QUEUE``."""
    asyncio.run(_run_worker())
