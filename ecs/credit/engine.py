"""Every call the application makes to Temporal about a credit decision, in one module.

Why one module: each Temporal call can fail in the same handful of ways (server unreachable,
RPC deadline, worker not polling), and each of those means the same thing to a caller, "the
workflow engine is unavailable; nothing was lost, retry". :func:`unavailable` is that one error,
and every function below either answers or raises it, never a raw ``RPCError``.

What each call promises:

* :func:`ensure_started` is idempotent by workflow id (``USE_EXISTING`` while running,
  ``REJECT_DUPLICATE`` once closed), so it is safe after any earlier failure.
* :func:`start_and_wait` and :func:`wait_decided` give up after ``wait`` seconds and return
  ``None``; running out of time is never an error, and the workflow is left started.
* :func:`update` runs an update under a caller-chosen update id, so a retried request is
  deduplicated by Temporal instead of being validated a second time against a changed state.

No ``request_eager_start``: eager start hands the first workflow task back to a worker polling
through the *same client in the same process*, and the API's worker is another process (the
SDK then ignores it); update-with-start, the ``?wait=`` path, has no eager option at all. The
start's cost is measured beside a bare workflow by ``bench.decisions`` (README "Performance").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import QueryRejectCondition
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from ecs import errors
from ecs.contracts import QUERY_STATUS, UPDATE_WAIT_DECIDED, WORKFLOW_TYPE, DecisionView
from ecs.credit.workflow_input import decision_input, start_options
from ecs.db.tables import CreditDecision
from ecs.settings import Settings

log = logging.getLogger("ecs.credit.engine")

START_TIMEOUT = timedelta(seconds=5)
QUERY_TIMEOUT = timedelta(seconds=3)
# How long an accept/decline/review waits for the workflow to apply it. An update that is not
# applied in time stays queued in Temporal and a retry (same update id) attaches to it, so a
# short bound loses nothing and tells a client whose worker is down to retry within seconds.
UPDATE_TIMEOUT = timedelta(seconds=5)
RETRY_AFTER_SECONDS = 5
# Any of these while talking to Temporal means "the workflow engine is unavailable right now".
TEMPORAL_DOWN: tuple[type[BaseException], ...] = (
    RPCError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    RuntimeError,
    TimeoutError,
    OSError,
)
_QUERY_FAILED: tuple[type[BaseException], ...] = (WorkflowQueryFailedError, *TEMPORAL_DOWN)
# The workflow ended without recording an outcome: its database records must be closed for it.
ABNORMAL_ENDS = frozenset(
    {
        WorkflowExecutionStatus.FAILED,
        WorkflowExecutionStatus.TERMINATED,
        WorkflowExecutionStatus.TIMED_OUT,
        WorkflowExecutionStatus.CANCELED,
    }
)


def location_of(decision_id: object) -> str:
    return f"/v1/credit-decisions/{decision_id}"


def unavailable(decision_id: object | None = None, detail: str | None = None) -> errors.Unavailable:
    """The one "Temporal unavailable" error; names the decision when its row is safely stored."""
    extra: dict[str, Any] = {}
    if decision_id is not None:
        extra = {"decision_id": str(decision_id), "location": location_of(decision_id)}
    return errors.Unavailable(
        detail or "The workflow engine is unreachable; retry shortly.",
        code="workflow-engine-unavailable",
        title="Workflow engine unavailable",
        retry_after=RETRY_AFTER_SECONDS,
        **extra,
    )


async def connect(
    temporal: Callable[[], Awaitable[Client]], decision_id: object | None = None
) -> Client:
    """The shared client, or :func:`unavailable` when Temporal cannot be reached."""
    try:
        return await temporal()
    except TEMPORAL_DOWN as exc:
        log.warning("temporal unreachable", extra={"error": f"{type(exc).__name__}: {exc}"})
        raise unavailable(decision_id) from exc


async def connect_or_none(temporal: Callable[[], Awaitable[Client]]) -> Client | None:
    """The shared client, or ``None`` for callers that can fall back to the database."""
    try:
        return await connect(temporal)
    except errors.Unavailable:
        return None


# --- start --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    """``ended_abnormally``: the workflow already ran and died without recording an outcome."""

    ended_abnormally: bool = False


async def ensure_started(client: Client, decision: CreditDecision, settings: Settings) -> Started:
    """Start the decision's workflow unless it already runs or ran (idempotent by workflow id)."""
    try:
        await client.start_workflow(
            WORKFLOW_TYPE,
            decision_input(decision, settings),
            rpc_timeout=START_TIMEOUT,
            **start_options(decision, settings),
        )
    except WorkflowAlreadyStartedError:
        # A closed workflow with this id exists: the decision ran. Say whether it ended
        # abnormally (an operator terminated it, a bug failed it) so its records get closed.
        return Started(
            ended_abnormally=await execution_status(client, decision.workflow_id) in ABNORMAL_ENDS
        )
    except TEMPORAL_DOWN as exc:
        log.warning(
            "could not start decision workflow",
            extra={"workflow_id": decision.workflow_id, "error": str(exc)},
        )
        raise unavailable(decision.id) from exc
    return Started()


async def start_and_wait(
    client: Client, decision: CreditDecision, settings: Settings, wait_seconds: float
) -> DecisionView | None:
    """Start the workflow and wait up to ``wait_seconds`` for its outcome in one round trip.

    ``wait_decided`` returns the moment the decision leaves PENDING. When time runs out the
    call is abandoned, which the client reports either as ``TimeoutError`` or as
    ``WorkflowUpdateRPCTimeoutOrCancelledError`` depending on where the cancellation lands;
    both mean "not decided yet". The start may not have reached the server before the call was
    abandoned, so it is then made sure of (idempotently): no decision is left without workflow.
    """
    start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        WORKFLOW_TYPE, decision_input(decision, settings), **start_options(decision, settings)
    )
    try:
        view: DecisionView = await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                UPDATE_WAIT_DECIDED, start_workflow_operation=start, result_type=DecisionView
            ),
            timeout=wait_seconds,
        )
        return view
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateFailedError):
        pass
    except TEMPORAL_DOWN as exc:
        log.warning("update-with-start failed", extra={"error": f"{type(exc).__name__}: {exc}"})
    await ensure_started(client, decision, settings)
    return None


async def wait_decided(
    client: Client, workflow_id: str, wait_seconds: float
) -> DecisionView | None:
    """The view once the running decision leaves PENDING; ``None`` if not within the wait."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        view: DecisionView = await asyncio.wait_for(
            handle.execute_update(UPDATE_WAIT_DECIDED, result_type=DecisionView),
            timeout=wait_seconds,
        )
        return view
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateFailedError):
        return None
    except TEMPORAL_DOWN:
        return None  # closed, unknown or unreachable: the caller reads what it can


# --- read --------------------------------------------------------------------------------------


async def query(
    client: Client, workflow_id: str, *, open_only: bool = True, timeout: timedelta = QUERY_TIMEOUT
) -> DecisionView | None:
    """The workflow's own view, or ``None`` when it is closed (``open_only``), unknown or
    unreachable: callers then read the database, which holds the final facts."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        view: DecisionView = await handle.query(
            QUERY_STATUS,
            result_type=DecisionView,
            reject_condition=QueryRejectCondition.NOT_OPEN if open_only else None,
            rpc_timeout=timeout,
        )
        return view
    except WorkflowQueryRejectedError:
        return None
    except _QUERY_FAILED as exc:
        log.info("status query failed; reading the database", extra={"error": str(exc)})
        return None


async def execution_status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    """Temporal's own word on the run (``None``: no such workflow)."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe(
            rpc_timeout=QUERY_TIMEOUT
        )
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        raise unavailable() from exc
    except TEMPORAL_DOWN as exc:
        raise unavailable() from exc
    return description.status


# --- act ---------------------------------------------------------------------------------------


class Rejected(Exception):
    """The workflow refused the update (its validator or handler); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotRunning(Exception):
    """Temporal has no running workflow to take the update (closed, or never started)."""


async def update(
    client: Client, workflow_id: str, name: str, argument: BaseModel, update_id: str
) -> Any:
    """Run an update and return its result. Raises :class:`Rejected`, :class:`NotRunning`
    (after checking with Temporal that it really is not running), or :func:`unavailable`.

    ``update_id`` makes a retry safe: Temporal attaches a repeated id to the first update,
    applied or still queued, and returns its result instead of validating it again.
    """
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(name, argument, id=update_id, rpc_timeout=UPDATE_TIMEOUT)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        raise Rejected(getattr(cause, "message", None) or str(cause) or str(exc)) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        # Admitted, not yet applied (no worker is polling): it stays queued, and a retry with the
        # same id attaches to it.
        raise unavailable(
            detail="The decision's workflow has not answered yet; retry shortly."
        ) from exc
    except RPCError as exc:
        if exc.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise unavailable() from exc
        # Both codes are also returned for a running workflow whose worker is restarting (no
        # workflow task completed yet): only Temporal's own status tells a closed run apart.
        if await execution_status(client, workflow_id) is WorkflowExecutionStatus.RUNNING:
            raise unavailable(detail="The decision's workflow is busy; retry shortly.") from exc
        raise NotRunning(str(exc)) from exc
    except TEMPORAL_DOWN as exc:
        raise unavailable() from exc


async def terminate(client: Client, workflow_id: str, reason: str) -> None:
    """End a workflow now; one that is already closed (or never started) is fine."""
    try:
        await client.get_workflow_handle(workflow_id).terminate(
            reason=reason, rpc_timeout=UPDATE_TIMEOUT
        )
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:
            raise unavailable() from exc
    except TEMPORAL_DOWN as exc:
        raise unavailable() from exc
