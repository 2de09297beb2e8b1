"""The worker's Prometheus endpoint: a decision moves the documented decision metrics.

A real worker on a Temporal runtime serving Prometheus (``ecs.observability``) runs a decision
through an offer, a cooling-off pause and an accepted, deployed credit line; the scrape then has
every decision metric the README, the dashboard and the alert rules name, plus the SDK's own.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine

from ecs import observability
from ecs.contracts import AcceptRequest, EmotionSignal
from ecs.domain.status import DecisionStatus
from ecs.settings import Settings
from ecs.temporal.client import connect
from tests.factories import make_user
from tests.support import free_port
from tests.workflows.conftest import start_decision, wait_status
from worker import create_worker
from workflows.credit_decision import CreditDecisionWorkflow


def _scrape(port: int) -> dict[str, float]:
    """Sample name → sum over its label sets, read as Prometheus stores it (the SDK's counters
    carry no ``_total``; a client-side parser would add one)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        totals[name] = totals.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return totals


async def test_a_decision_moves_the_worker_metrics(settings: Settings, engine: Engine) -> None:
    port = free_port()
    own = settings.model_copy(update={"temporal_task_queue": f"metrics-{uuid.uuid4().hex[:8]}"})
    client = await connect(own, observability.worker_runtime("127.0.0.1", port))
    user_id = make_user(engine)
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with create_worker(client, own, executor):
            handle = await start_decision(client, engine, own, user_id)
            await wait_status(handle, DecisionStatus.OFFERED)
            await handle.signal(
                CreditDecisionWorkflow.emotion,
                EmotionSignal(event_id="m-1", stress=0.95, intensity=0.9),
            )
            await wait_status(handle, DecisionStatus.COOLING_OFF)
            await handle.signal(
                CreditDecisionWorkflow.emotion,
                EmotionSignal(event_id="m-2", stress=0.1, intensity=0.2),
            )
            await wait_status(handle, DecisionStatus.OFFERED)
            await handle.execute_update(
                CreditDecisionWorkflow.accept, AcceptRequest(user_id=str(user_id))
            )
            assert (await handle.result()).status is DecisionStatus.ACTIVE
            metrics = _scrape(port)

    assert metrics[observability.DECISIONS_STARTED] >= 1
    assert metrics[observability.DECISION_OUTCOMES] >= 1
    assert metrics[observability.COOLING_OFF_PAUSES] >= 1
    assert metrics[f"{observability.REQUEST_TO_OFFER}_count"] >= 1
    assert metrics[f"{observability.ACCEPT_TO_ACTIVE}_count"] >= 1
    assert observability.MODEL_BREAKER_OPEN in metrics
    for name in observability.SDK_METRICS:
        if name != "temporal_activity_execution_failed":  # only after a failure
            assert f"{name}_count" in metrics, name
