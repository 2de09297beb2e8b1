"""The journey floor: a customer's whole journey in Temporal's terms, with no ECS in it.

``BenchJourneyFloorWorkflow`` has the real decision's Temporal shape and nothing else: it is
started by update-with-start on a ``wait_decided`` update (as ``POST /v1/credit-decisions?wait=``
starts the real one), runs three trivial *local* activities in its first workflow task (as
fetch_history, score and approve), answers the update, runs one trivial regular activity (the
offer's notify), waits for an ``accept`` update and runs one trivial regular activity (as
``accept_and_deploy``). Same retry policies and timeouts, same payload codec (the bench's client
and this worker connect as ECS's do), same worker settings and workflow runner.

What ``bench.decisions`` times on it is what it times on ECS, on the same schedule:

* update-with-start sent → ``wait_decided`` answered: the floor under request → offer (ECS
  adds the API, its database reads and writes, the real activities, and search attributes);
* ``accept`` sent → answered: the floor under accept → 202;
* ``accept`` sent → the accept activity ran (it touches a file the bench polls, as the bench
  polls ECS's database for the credit line ``accept_and_deploy`` commits): the floor under
  accept → ACTIVE;

and CPU per journey and closed-loop throughput (request → offer only, as for ECS). ECS minus
this floor is what ECS's own code costs; the floor itself is what the design card's shape (a
workflow with activities, updates for the API) costs on this Temporal and this machine.

Nothing heavy is imported at module level: a sandboxed worker re-imports this module for every
run.
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client
    from temporalio.worker import Worker

    from bench.lib.bare import ACTIVITIES as BARE_ACTIVITIES
    from bench.lib.bare import LOCAL_STEPS, RETRY, run_step

WORKFLOW_NAME = "BenchJourneyFloorWorkflow"
TASK_QUEUE_ENV = "BENCH_FLOOR_TASK_QUEUE"
MARKS_ENV = "BENCH_FLOOR_MARKS"
"""A directory: the accept activity creates a file named after the journey's user there."""


@activity.defn(name="floor_notify")
def floor_notify(user_id: str) -> str:
    return user_id


@activity.defn(name="floor_accept_and_deploy")
def floor_accept_and_deploy(user_id: str) -> str:
    """Trivial but observable: the bench's stand-in for the credit line's row."""
    (Path(os.environ[MARKS_ENV]) / user_id).touch()
    return user_id


@workflow.defn(name=WORKFLOW_NAME)
class JourneyFloorWorkflow:
    def __init__(self) -> None:
        self._decided = False
        self._accepted = False

    @workflow.run
    async def run(self, user_id: str) -> str:
        for step in LOCAL_STEPS:
            await run_step(step, user_id, local=True)
        self._decided = True
        await run_step(floor_notify.__name__, user_id, local=False)
        await workflow.wait_condition(lambda: self._accepted)
        result: str = await workflow.execute_activity(
            floor_accept_and_deploy,
            user_id,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
        )
        return result

    @workflow.update(name="wait_decided")
    async def wait_decided(self) -> str:
        await workflow.wait_condition(lambda: self._decided)
        return "OFFERED"

    @workflow.update(name="accept")
    def accept(self, user_id: str) -> str:
        self._accepted = True
        return user_id

    @accept.validator
    def _validate(self, user_id: str) -> None:
        if not self._decided or self._accepted:
            raise ValueError("no open offer")


WORKER_COMMAND = "from bench.lib.floor import worker_main; worker_main()"
"""``python -c`` this: the module keeps its name (never ``__main__``, which the sandbox would
re-import as a different module)."""


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
            workflows=[JourneyFloorWorkflow],
            workflow_runner=workflow_runner(settings),
            activities=[*BARE_ACTIVITIES, floor_notify, floor_accept_and_deploy],
            activity_executor=executor,
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
            max_concurrent_activities=64,
        ):
            await stop.wait()


def worker_main() -> None:
    """Entry point of the floor worker subprocess, on the queue ``BENCH_FLOOR_TASK_QUEUE``."""
    asyncio.run(_run_worker())
