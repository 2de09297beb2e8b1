"""Workflow-test helpers: start decisions on the real worker and read their state."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle

from ecs.contracts import CoolingOffConfig, DecisionInput, DecisionView
from ecs.settings import Settings
from tests.factories import make_decision_row


async def start_decision(
    client: Client,
    engine: Engine,
    settings: Settings,
    user_id: uuid.UUID,
    *,
    offer_ttl_seconds: int = 3600,
    pause_seconds: int = 3600,
    task_queue: str | None = None,
    **start_kwargs: object,
) -> WorkflowHandle[object, DecisionView]:
    decision_id, workflow_id = make_decision_row(engine, user_id)
    return await client.start_workflow(  # type: ignore[call-overload, no-any-return]
        "CreditDecisionWorkflow",
        DecisionInput(
            decision_id=decision_id,
            user_id=str(user_id),
            offer_ttl_seconds=offer_ttl_seconds,
            cooling_off=CoolingOffConfig(pause_seconds=pause_seconds),
        ),
        id=workflow_id,
        task_queue=task_queue or settings.temporal_task_queue,
        result_type=DecisionView,
        **start_kwargs,
    )


async def status_of(handle: WorkflowHandle[object, DecisionView]) -> DecisionView:
    view: DecisionView = await handle.query("status", result_type=DecisionView)
    return view
