"""Issue 9 (1, 3): a ``?wait=`` that runs out, and accept retried after any earlier answer.

On the real dev server, with real workers that the tests stop and start:

* ``?wait=`` shorter than the decision answers 202 + Location, never 500, and the decision's
  workflow exists (no decision is left PENDING without one). The Temporal client reports the
  abandoned wait as ``WorkflowUpdateRPCTimeoutOrCancelledError`` as often as ``TimeoutError``.
* accept is idempotent: accepting twice is the same success; an accept while no worker polls is
  a 503 with Retry-After (the update stays queued), and the retry once a worker is back gets the
  real outcome, "accepted", never "409 no open offer: the decision is OFFERED".
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from ecs.db.tables import CreditAccount
from ecs.settings import Settings
from tests.api.conftest import Account, assert_problem, seed_good_history, serve_api
from tests.support import async_wait_for


@pytest.fixture
def own_queue(settings: Settings) -> Settings:
    """Settings whose decisions start on a task queue only this test's workers poll."""
    return settings.model_copy(update={"temporal_task_queue": f"retry-{uuid.uuid4().hex[:8]}"})


@pytest.fixture
def own_api(own_queue: Settings) -> Iterator[str]:
    with serve_api(own_queue) as url:
        yield url


@asynccontextmanager
async def polling(client: Client, settings: Settings) -> AsyncIterator[None]:
    """A real worker on the queue for the duration of the block. No sticky cache, so a
    workflow task queued while it was gone goes straight to the next worker."""
    from activities.registry import build_activities
    from workflows.registry import WORKFLOWS

    with ThreadPoolExecutor(max_workers=8) as executor:
        worker = Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=build_activities(settings),
            activity_executor=executor,
            max_cached_workflows=0,
        )
        async with worker:
            yield


async def _workflow_status(client: Client, decision_id: str) -> WorkflowExecutionStatus | None:
    description = await client.get_workflow_handle(f"credit-decision-{decision_id}").describe()
    return description.status


async def _until_decided(http: httpx.AsyncClient, account: Account, location: str) -> None:
    async def decided() -> bool:
        got = await http.get(location, headers=account.headers)
        return bool(got.json()["status"] == "DENIED")

    await async_wait_for(decided, timeout=20, message="the decision to finish")


@pytest.mark.usefixtures("worker")
async def test_a_wait_shorter_than_the_decision_is_202_with_location(
    api_url: str, customer: Account, other_customer: Account, temporal_client: Client
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        for account in (customer, other_customer):
            for _ in range(3):  # each closes (DENIED: no history), so each is a new decision
                response = await http.post(
                    "/v1/credit-decisions", params={"wait": 0.02}, headers=account.headers
                )
                assert response.status_code in (201, 202), response.text
                body = response.json()
                assert response.headers["location"] == f"/v1/credit-decisions/{body['id']}"
                if response.status_code == 202:
                    assert body["status"] == "PENDING"
                assert await _workflow_status(temporal_client, body["id"]) is not None
                await _until_decided(http, account, response.headers["location"])


async def test_a_wait_no_worker_can_meet_is_202_and_the_workflow_runs(
    own_api: str, customer: Account, temporal_client: Client
) -> None:
    """Nobody polls the queue: the decision cannot finish within any wait."""
    async with httpx.AsyncClient(base_url=own_api, timeout=60) as http:
        response = await http.post(
            "/v1/credit-decisions", params={"wait": 1}, headers=customer.headers
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "PENDING"
        assert response.headers["location"] == f"/v1/credit-decisions/{body['id']}"
        handle = temporal_client.get_workflow_handle(f"credit-decision-{body['id']}")
        try:
            assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
            again = await http.post(
                "/v1/credit-decisions", params={"wait": 0.5}, headers=customer.headers
            )
            assert again.status_code == 200, again.text
            assert again.json()["id"] == body["id"] and again.json()["status"] == "PENDING"
        finally:
            await handle.terminate(reason="test cleanup")


def _credit_lines(engine: Engine, user_id: uuid.UUID) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(CreditAccount)
        return session.exec(query.where(CreditAccount.user_id == user_id)).one()


async def test_accept_is_safe_to_retry_through_a_worker_outage(
    own_api: str, own_queue: Settings, customer: Account, temporal_client: Client, engine: Engine
) -> None:
    async with httpx.AsyncClient(base_url=own_api, timeout=60) as http:
        await seed_good_history(http, customer)
        async with polling(temporal_client, own_queue):
            offered = await http.post(
                "/v1/credit-decisions", params={"wait": 20}, headers=customer.headers
            )
        assert offered.status_code == 201 and offered.json()["status"] == "OFFERED", offered.text
        accept = f"/v1/credit-decisions/{offered.json()['id']}/accept"

        # No worker polls: the update is admitted and queued, and the client is told to retry.
        refused = await http.post(accept, headers=customer.headers)
        body = assert_problem(refused, 503)
        assert refused.headers["retry-after"] and body["request_id"]
        assert refused.headers["x-request-id"] == body["request_id"]

        async with polling(temporal_client, own_queue):

            async def retried() -> httpx.Response | None:
                response = await http.post(accept, headers=customer.headers)
                return None if response.status_code == 503 else response

            first = await async_wait_for(retried, timeout=30, interval=0.5, message="accept")
            assert first.status_code == 202, first.text
            assert first.json()["status"] in ("ACCEPTED", "ACTIVE")
            second = await http.post(accept, headers=customer.headers)
            assert second.status_code == 202, second.text
            assert second.json()["decision_id"] == offered.json()["id"]
            assert second.json()["status"] in ("ACCEPTED", "ACTIVE")

            async def active() -> dict[str, Any] | None:
                got = await http.get(
                    f"/v1/credit-decisions/{offered.json()['id']}", headers=customer.headers
                )
                view: dict[str, Any] = got.json()
                return view if view["status"] == "ACTIVE" and view["source"] == "database" else None

            await async_wait_for(active, timeout=20, message="the ACTIVE decision")
        closed = await http.post(accept, headers=customer.headers)  # closed: read from the rows
        assert closed.status_code == 202 and closed.json()["status"] == "ACTIVE", closed.text
    assert _credit_lines(engine, customer.id) == 1
