"""The worker killed with SIGKILL during decisions and accepts: nothing lost, nothing twice.

Customers with a good ledger history ask for credit through the real API and accept their offers
as soon as they see them, while the test kills the only ``ecs worker`` process every few steps
of progress and starts a new one. Temporal re-dispatches whatever the dead worker held. At the
end every decision is ACTIVE, each customer has exactly the credit line of their offer, one
"credit active" notification, and the API never answered a 5xx other than 503.

ACTIVE is visible as soon as ``accept_and_deploy`` commits; the notification is the workflow's
next (and last) activity, which a kill can delay by its start-to-close timeout. So the checks
wait for every decision's workflow to close first: after that nothing can add a notice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from temporalio.client import WorkflowExecutionStatus

from ecs.contracts import workflow_id_for
from ecs.db.tables import CreditAccount, Notification, Offer
from ecs.settings import Settings
from ecs.temporal.client import connect
from tests.api.conftest import register_and_login, serve_api
from tests.faults.conftest import Processes, fault_env
from tests.ledger import entry, feed_sync

CUSTOMERS = 12
KILLS = 4
CLOSE_DEADLINE_SECONDS = 120  # a killed notify waits out its start-to-close timeout first


async def _wait_closed(settings: Settings, decision_ids: list[str]) -> None:
    client = await connect(settings)
    deadline = time.monotonic() + CLOSE_DEADLINE_SECONDS
    for decision_id in decision_ids:
        handle = client.get_workflow_handle(workflow_id_for(decision_id))
        while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            assert time.monotonic() < deadline, f"decision {decision_id} never closed"
            await asyncio.sleep(0.1)  # poll, bounded by the deadline


def _seed(api: str, user_id: uuid.UUID) -> None:
    now = datetime.now(UTC)
    feed_sync(
        api,
        [
            entry(user_id, amount, direction, now - timedelta(days=30 * month + 2))
            for month in range(4)
            for amount, direction in (("6000.00", "in"), ("2500.00", "out"))
        ],
    )


def test_killed_workers_lose_no_decision_and_deploy_once(
    settings: Settings, engine: Engine, redis_url: str, processes: Processes
) -> None:
    processes.env = fault_env(settings, redis_url)
    own = settings.model_copy(
        update={"temporal_task_queue": processes.env["ECS_TEMPORAL_TASK_QUEUE"]}
    )
    statuses: Counter[int] = Counter()
    with serve_api(own) as api, httpx.Client(base_url=api, timeout=30) as http:
        customers = [register_and_login(api, prefix="fault") for _ in range(CUSTOMERS)]
        for customer in customers:
            _seed(api, customer.id)
        processes.start("worker-0", "worker")
        decisions: dict[uuid.UUID, str] = {}
        for customer in customers:
            response = http.post("/v1/credit-decisions?wait=0", headers=customer.headers)
            statuses[response.status_code] += 1
            assert response.status_code in (200, 201, 202), response.text
            decisions[customer.id] = response.json()["id"]

        state = dict.fromkeys(decisions, "PENDING")
        progress_at_kill, generation = 0, 1
        deadline = time.monotonic() + 180
        while any(s != "ACTIVE" for s in state.values()):
            assert time.monotonic() < deadline, f"stuck: {Counter(state.values())}"
            for customer in customers:
                if state[customer.id] == "ACTIVE":
                    continue
                path = f"/v1/credit-decisions/{decisions[customer.id]}"
                if state[customer.id] == "OFFERED":
                    response = http.post(f"{path}/accept", headers=customer.headers)
                else:
                    response = http.get(path, headers=customer.headers)
                statuses[response.status_code] += 1
                assert response.status_code < 500 or response.status_code == 503, response.text
                if response.status_code < 300:
                    state[customer.id] = response.json()["status"]
            progress = sum(s in ("OFFERED", "ACCEPTED", "ACTIVE") for s in state.values()) + sum(
                s == "ACTIVE" for s in state.values()
            )
            if processes.kills < KILLS and progress > progress_at_kill:
                processes.kill(f"worker-{generation - 1}")  # mid-decision or mid-deploy
                processes.start(f"worker-{generation}", "worker")
                generation += 1
                progress_at_kill = progress
            time.sleep(0.05)  # poll: the decisions' statuses

    print(f"customers={CUSTOMERS} kills={processes.kills} statuses={dict(statuses)}")
    assert processes.kills == KILLS
    asyncio.run(_wait_closed(own, list(decisions.values())))
    with Session(engine) as session:
        for customer in customers:
            account = session.get(CreditAccount, customer.id)
            offer = session.exec(select(Offer).where(Offer.user_id == customer.id)).one()
            assert account is not None and account.offer_id == offer.id
            assert account.credit_limit == offer.credit_limit  # deployed once, not added twice
            active_notices = session.exec(
                select(func.count()).where(
                    Notification.user_id == customer.id, Notification.kind == "credit_active"
                )
            ).one()
            assert active_notices == 1
