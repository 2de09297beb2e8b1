"""Workflow-test helpers: start decisions by typed reference and read their state."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle

from ecs.contracts import (
    SIGNAL_EMOTION,
    CoolingOffConfig,
    DecisionInput,
    DecisionView,
    EmotionSignal,
)
from ecs.domain.review import ReviewRules
from ecs.domain.status import DecisionStatus
from ecs.settings import Settings
from tests.factories import make_decision_row
from tests.support import async_wait_for
from workflows.credit_decision import CreditDecisionWorkflow

DecisionHandle = WorkflowHandle[CreditDecisionWorkflow, DecisionView]

HISTORY_LIMITS = {
    "limit.historyCount.suggestContinueAsNew": 50,
    "limit.historyCount.warn": 100,
    "limit.historyCount.error": 200,
}
"""Dev-server history limits lowered by dynamic config, so continue-as-new happens in seconds."""


def lowered_history_limit_args() -> list[str]:
    return [
        arg
        for key, value in HISTORY_LIMITS.items()
        for arg in ("--dynamic-config-value", f"{key}={value}")
    ]


def decision_input(
    decision_id: str,
    user_id: uuid.UUID | str,
    *,
    offer_ttl_seconds: int,
    pause_seconds: int,
    review_rules: ReviewRules | None = None,
) -> DecisionInput:
    return DecisionInput(
        decision_id=decision_id,
        user_id=str(user_id),
        offer_ttl_seconds=offer_ttl_seconds,
        cooling_off=CoolingOffConfig(pause_seconds=pause_seconds),
        review_rules=review_rules,
    )


async def start_fake_decision(
    client: Client,
    task_queue: str,
    *,
    offer_ttl_seconds: int = 3600,
    pause_seconds: int = 3600,
    start_emotion: EmotionSignal | None = None,
) -> tuple[DecisionHandle, str]:
    """A decision for workflow unit tests (fake activities, no database row); returns the
    handle and the applicant's id."""
    decision_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
    handle = await client.start_workflow(
        CreditDecisionWorkflow.run,
        decision_input(
            decision_id, user_id, offer_ttl_seconds=offer_ttl_seconds, pause_seconds=pause_seconds
        ),
        id=f"fake-decision-{decision_id}",
        task_queue=task_queue,
        start_signal=SIGNAL_EMOTION if start_emotion else None,
        start_signal_args=[start_emotion] if start_emotion else [],
    )
    return handle, user_id


async def start_decision(
    client: Client,
    engine: Engine,
    settings: Settings,
    user_id: uuid.UUID,
    *,
    offer_ttl_seconds: int = 3600,
    pause_seconds: int = 3600,
    task_queue: str | None = None,
    start_emotion: EmotionSignal | None = None,
    review_rules: ReviewRules | None = None,
) -> DecisionHandle:
    """A decision row in the database and its workflow; ``start_emotion`` is delivered with the
    start (signal-with-start), before the first workflow task runs. Without ``review_rules``
    the decision runs as those started before human review existed."""
    decision_id, workflow_id = make_decision_row(engine, user_id)
    return await client.start_workflow(
        CreditDecisionWorkflow.run,
        decision_input(
            decision_id,
            user_id,
            offer_ttl_seconds=offer_ttl_seconds,
            pause_seconds=pause_seconds,
            review_rules=review_rules,
        ),
        id=workflow_id,
        task_queue=task_queue or settings.temporal_task_queue,
        start_signal=SIGNAL_EMOTION if start_emotion else None,
        start_signal_args=[start_emotion] if start_emotion else [],
    )


async def status_of(handle: DecisionHandle) -> DecisionView:
    return await handle.query(CreditDecisionWorkflow.status)


async def wait_status(
    handle: DecisionHandle, *wanted: DecisionStatus, timeout: float = 20
) -> DecisionView:
    """Poll the ``status`` query until the decision is in one of ``wanted``."""

    async def check() -> DecisionView | None:
        view = await status_of(handle)
        return view if view.status in wanted else None

    return await async_wait_for(check, timeout=timeout, interval=0.01, message=f"{wanted}")
