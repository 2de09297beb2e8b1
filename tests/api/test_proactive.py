"""Proactive offers end to end: the real API, the real worker, the real Temporal dev server.

The workflow is run for a cohort of this test's users (``ProactiveInput.user_ids``), so other
suites' users in a shared database are never offered anything; the schedule itself is
triggered against a worker whose rules admit nobody.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHandle

from ecs.db.tables import CreditDecision
from ecs.proactive import schedule
from ecs.proactive.contract import ProactiveInput, ProactiveSummary
from ecs.settings import Settings
from tests.api.conftest import Account, register_and_login, seed_good_history
from tests.api.sse import open_events
from tests.support import async_wait_for
from workflows.proactive import ProactiveOffersWorkflow

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def client(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        yield http


def _decisions(engine: Engine, user: Account) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(CreditDecision)
        return session.exec(query.where(CreditDecision.user_id == user.id)).one()


async def _run(temporal: Client, settings: Settings, users: list[Account]) -> ProactiveSummary:
    return await temporal.execute_workflow(
        ProactiveOffersWorkflow.run,
        ProactiveInput(user_ids=[str(u.id) for u in users]),
        id=f"proactive-offers-test-{uuid.uuid4()}",
        task_queue=settings.temporal_task_queue,
    )


async def test_only_eligible_users_get_an_offer_and_it_reaches_the_app(
    client: httpx.AsyncClient, api_url: str, engine: Engine, temporal_client: Client,
    settings: Settings,
) -> None:  # fmt: skip
    eligible = register_and_login(api_url, prefix="eligible")
    opted_out = register_and_login(api_url, prefix="optout")
    open_one = register_and_login(api_url, prefix="open")
    declined = register_and_login(api_url, prefix="declined")
    no_consent = register_and_login(api_url, consent=False, prefix="noconsent")
    no_history = register_and_login(api_url, prefix="nohistory")
    for account in (eligible, opted_out, open_one, declined, no_consent):
        await seed_good_history(client, account)

    out = await client.put(
        "/v1/me/proactive-offers", json={"receive": False}, headers=opted_out.headers
    )
    assert out.status_code == 200 and out.json() == {"receive": False}
    got = await client.get("/v1/me/proactive-offers", headers=opted_out.headers)
    assert got.json() == {"receive": False}
    for account in (open_one, declined):
        offered = await client.post(
            "/v1/credit-decisions", params={"wait": 20}, headers=account.headers
        )
        assert offered.json()["status"] == "OFFERED", offered.text
    declined_id = offered.json()["id"]
    answer = await client.post(
        f"/v1/credit-decisions/{declined_id}/decline", headers=declined.headers
    )
    assert answer.status_code == 202, answer.text

    cohort = [eligible, opted_out, open_one, declined, no_consent, no_history]
    before = {a.email: _decisions(engine, a) for a in cohort}
    async with open_events(api_url, eligible.token) as events:
        summary = await _run(temporal_client, settings, cohort)
        offer_event = await events.next_event(timeout=20)
    assert summary == ProactiveSummary(selected=1, started=1)
    assert offer_event.data["kind"] == "offer_ready"

    page = (await client.get("/v1/credit-decisions", headers=eligible.headers)).json()
    assert [d["id"] for d in page["items"]] == [offer_event.data["decision_id"]]
    after = {a.email: _decisions(engine, a) for a in cohort}
    assert after == {**before, eligible.email: before[eligible.email] + 1}

    # The next run finds the eligible user's decision open: nobody is offered twice.
    assert await _run(temporal_client, settings, cohort) == ProactiveSummary(selected=0, started=0)

    back = await client.put(
        "/v1/me/proactive-offers", json={"receive": True}, headers=opted_out.headers
    )
    assert back.json() == {"receive": True}
    assert await _run(temporal_client, settings, [opted_out]) == ProactiveSummary(
        selected=1, started=1
    )


async def test_the_preference_is_a_strict_boolean(
    client: httpx.AsyncClient, customer: Account
) -> None:
    for body in ({"receive": "no"}, {"receive": 0}, {}, {"receive": True, "x": 1}):
        response = await client.put("/v1/me/proactive-offers", json=body, headers=customer.headers)
        assert response.status_code == 422, body
    assert (await client.get("/v1/me/proactive-offers", headers=customer.headers)).json() == {
        "receive": True
    }


async def test_the_schedule_registers_idempotently_keeps_a_pause_and_runs(
    settings: Settings, temporal_client: Client
) -> None:
    """Registered twice (two workers starting), paused by an operator, registered again on a
    deploy with another interval: one schedule, still paused, with the new interval. Triggered,
    it runs the workflow on the worker's task queue (rules that admit nobody here)."""
    from worker import create_worker

    suffix = uuid.uuid4().hex[:8]
    strict = settings.model_copy(
        update={
            "temporal_task_queue": f"proactive-test-{suffix}",
            "proactive_min_transactions": 10**9,
            "reevaluation_interval_days": 10**5,
        }
    )
    schedule_id = f"proactive-offers-test-{suffix}"
    assert await schedule.register(temporal_client, strict, schedule_id) is True
    handle = temporal_client.get_schedule_handle(schedule_id)
    try:
        assert await schedule.register(temporal_client, strict, schedule_id) is False
        await handle.pause(note="paused by an operator")

        async def paused() -> bool:
            return (await handle.describe()).schedule.state.paused

        await async_wait_for(paused, message="the pause to take effect")
        slower = strict.model_copy(update={"proactive_interval_minutes": 120})
        assert await schedule.register(temporal_client, slower, schedule_id) is False
        described = await handle.describe()
        assert described.schedule.state.paused
        assert described.schedule.spec.intervals[0].every.total_seconds() == 7200

        with ThreadPoolExecutor(max_workers=4) as executor:
            async with create_worker(temporal_client, strict, executor):
                await handle.trigger()

                async def finished_run() -> Any:
                    info = (await handle.describe()).info
                    return info.recent_actions[-1] if info.recent_actions else None

                action = await async_wait_for(finished_run, timeout=20, message="a run")
                run: WorkflowHandle[ProactiveOffersWorkflow, ProactiveSummary] = (
                    temporal_client.get_workflow_handle_for(
                        ProactiveOffersWorkflow.run, action.action.workflow_id
                    )
                )
                result = await run.result()
        assert result == ProactiveSummary(selected=0, started=0)
    finally:
        await handle.delete()
