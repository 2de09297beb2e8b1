"""The determinism guard sits in the tests: the worker may run unsandboxed, the tests never do.

``worker.workflow_runner`` runs production workflow code outside Temporal's sandbox (96 -> 71 ms
of the worker's CPU per decision); these tests prove the guard that replaces it is real: the suite's
workers run in ``SANDBOX``, and ``SANDBOX`` with our pass-through modules still refuses a workflow
that reads the wall clock, which the unsandboxed runner would let through.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from ecs.settings import Settings
from tests.support import async_wait_for
from tests.workflows.clock_reader import ClockReaderWorkflow
from worker import SANDBOX, workflow_runner


def test_worker_runs_unsandboxed_by_default_and_sandboxed_when_asked() -> None:
    assert isinstance(workflow_runner(Settings(workflow_sandbox=False)), UnsandboxedWorkflowRunner)
    assert workflow_runner(Settings(workflow_sandbox=True)) is SANDBOX
    assert Settings.model_fields["workflow_sandbox"].default is False


def test_the_suites_worker_runs_in_the_sandbox(settings: Settings) -> None:
    """``tests/conftest.py``'s ``worker`` fixture builds the real worker from these settings."""
    assert isinstance(workflow_runner(settings), SandboxedWorkflowRunner)


async def _run_clock_reader(client: Client, runner: WorkflowRunner) -> tuple[str | None, bool]:
    """(result, whether a workflow task failed): the first of the two to happen."""
    queue = f"sandbox-guard-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=2) as executor:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[ClockReaderWorkflow],
            workflow_runner=runner,
            activity_executor=executor,
        ):
            handle = await client.start_workflow(
                ClockReaderWorkflow.run,
                id=f"sandbox-guard-{uuid.uuid4()}",
                task_queue=queue,
                execution_timeout=timedelta(minutes=1),
            )

            async def outcome() -> tuple[str | None, bool] | None:
                events = [e async for e in handle.fetch_history_events()]
                kinds = {e.event_type for e in events}
                if EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in kinds:
                    return None, True
                if EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED in kinds:
                    return await handle.result(), False
                return None

            found = await async_wait_for(outcome, timeout=30, message="the clock reader's outcome")
            if found[1]:  # the failed task would be retried until the timeout: end it now
                await handle.terminate("test over")
            return found


async def test_the_sandbox_refuses_a_workflow_that_reads_the_wall_clock(
    temporal_client: Client,
) -> None:
    result, task_failed = await _run_clock_reader(temporal_client, SANDBOX)
    assert task_failed and result is None


async def test_without_the_sandbox_the_same_workflow_would_run(temporal_client: Client) -> None:
    """Why the guard must stay in the tests: unsandboxed, nothing stops the clock read."""
    result, task_failed = await _run_clock_reader(temporal_client, UnsandboxedWorkflowRunner())
    assert not task_failed and result is not None
