"""Analyst review of REFERRED decisions, end to end.

A decision is REFERRED when the risk model is down, so this module runs its own worker whose
model always fails, on its own task queue, and its own API server starting workflows there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from ecs.settings import Settings
from tests.api.conftest import Account, assert_problem, seed_good_history, serve_api
from tests.api.decision_views import assert_same_view, live_view, stored_view
from tests.support import async_wait_for

TERMS = {"credit_limit": "1500.00", "interest_rate": "0.2100", "credit_type": "SHORT_TERM"}


@pytest.fixture
def referral_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"temporal_task_queue": f"down-{uuid.uuid4().hex[:8]}"})


@pytest.fixture
async def down_model_worker(
    temporal_client: Client, referral_settings: Settings
) -> AsyncIterator[None]:
    """The real workflow and activities, except a risk model that is always unavailable."""
    from activities.registry import build_activities
    from ecs.risk.model import ModelUnavailable, RiskScore
    from workflows.registry import WORKFLOWS

    class DownModel:
        name = "down"

        async def predict(self, features: object) -> RiskScore:
            raise ModelUnavailable("connection refused")

    with ThreadPoolExecutor(max_workers=8) as executor:
        worker = Worker(
            temporal_client,
            task_queue=referral_settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=build_activities(referral_settings, model=DownModel()),
            activity_executor=executor,
        )
        async with worker:
            yield


@pytest.fixture
def referral_api(referral_settings: Settings) -> Iterator[str]:
    """A second real API server whose decisions start on the down-model worker's queue."""
    with serve_api(referral_settings) as url:
        yield url


async def _review_queue_ids(client: httpx.AsyncClient, analyst: Account) -> dict[str, str]:
    """Every REFERRED decision id → user id, following the pages to the end."""
    found: dict[str, str] = {}
    offset: int | None = 0
    while offset is not None:
        response = await client.get(
            "/v1/reviews", params={"limit": 200, "offset": offset}, headers=analyst.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found.update({item["id"]: item["user_id"] for item in page["items"]})
        offset = page["next_offset"]
    return found


@pytest.mark.usefixtures("down_model_worker")
async def test_model_outage_referral_is_resolved_by_an_analyst(
    referral_api: str, customer: Account, other_customer: Account, analyst: Account
) -> None:
    async with httpx.AsyncClient(base_url=referral_api, timeout=60) as client:
        await asyncio.gather(
            seed_good_history(client, customer), seed_good_history(client, other_customer)
        )
        started = await asyncio.gather(
            *(
                client.post("/v1/credit-decisions", params={"wait": 30}, headers=a.headers)
                for a in (customer, other_customer)
            )
        )
        for response in started:
            assert response.status_code == 201, response.text
            assert response.json()["status"] == "REFERRED"
            assert response.json()["approved"] is None
        to_approve, to_deny = (r.json()["id"] for r in started)

        assert_problem(await client.get("/v1/reviews", headers=customer.headers), 403)
        queue = await _review_queue_ids(client, analyst)
        assert queue[to_approve] == str(customer.id)
        assert queue[to_deny] == str(other_customer.id)

        review = f"/v1/reviews/{to_approve}"
        no_terms = await client.post(
            review, json={"approve": True, "comment": "ok"}, headers=analyst.headers
        )
        body = assert_problem(no_terms, 422)
        assert {tuple(e["loc"]) for e in body["errors"]} >= {("body", "comment")}  # type: ignore[attr-defined]
        missing_terms = await client.post(
            review, json={"approve": True, "comment": "looks fine"}, headers=analyst.headers
        )
        assert "credit_limit" in str(assert_problem(missing_terms, 422)["errors"])
        as_customer = await client.post(
            review, json={"approve": False, "comment": "nope"}, headers=customer.headers
        )
        assert_problem(as_customer, 403)
        unknown = await client.post(
            f"/v1/reviews/{uuid.uuid4()}",
            json={"approve": False, "comment": "nope"},
            headers=analyst.headers,
        )
        assert_problem(unknown, 404)

        approved = await client.post(
            review,
            json={"approve": True, "comment": "stable salary, model outage", **TERMS},
            headers=analyst.headers,
        )
        assert approved.status_code == 202, approved.text
        assert approved.json()["status"] == "OFFERED"
        denied = await client.post(
            f"/v1/reviews/{to_deny}",
            json={"approve": False, "comment": "insufficient documentation"},
            headers=analyst.headers,
        )
        assert denied.status_code == 202 and denied.json()["status"] == "DENIED", denied.text

        async def status_of(decision_id: str, account: Account) -> dict[str, Any]:
            response = await client.get(
                f"/v1/credit-decisions/{decision_id}", headers=account.headers
            )
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()
            return result

        async def offered() -> dict[str, Any] | None:
            view = await status_of(to_approve, customer)
            return view if view["status"] == "OFFERED" else None

        offer = await async_wait_for(offered, timeout=20, message="the reviewed offer")
        assert offer["credit_limit"] == TERMS["credit_limit"]
        assert offer["interest_rate"] == TERMS["interest_rate"]
        assert offer["offer"]["id"]

        async def closed_denied() -> dict[str, Any] | None:
            view = await status_of(to_deny, other_customer)
            return view if view["status"] == "DENIED" else None

        await async_wait_for(closed_denied, timeout=20, message="the reviewed denial")

        twice = await client.post(
            review, json={"approve": False, "comment": "again"}, headers=analyst.headers
        )
        assert_problem(twice, 409)
        queue = await _review_queue_ids(client, analyst)
        assert to_approve not in queue and to_deny not in queue


@pytest.mark.usefixtures("down_model_worker")
async def test_referred_reads_the_same_live_and_stored(
    referral_api: str, customer: Account, analyst: Account, temporal_client: Client, engine: Engine
) -> None:
    """REFERRED: nobody has decided yet, so ``approved`` is null and there are no terms, on the
    live path (``?wait=``, GET) and on the stored one (listing, review queue) alike."""
    async with httpx.AsyncClient(base_url=referral_api, timeout=60) as client:
        await seed_good_history(client, customer)
        response = await client.post(
            "/v1/credit-decisions", params={"wait": 30}, headers=customer.headers
        )
        assert response.status_code == 201, response.text
        answered = response.json()
        assert answered["status"] == "REFERRED" and answered["source"] == "workflow"
        assert answered["approved"] is None
        assert answered["credit_limit"] is None and answered["interest_rate"] is None
        decision_id = answered["id"]

        stored = await stored_view(client, customer, decision_id)
        assert_same_view(answered, stored)
        got = await client.get(f"/v1/credit-decisions/{decision_id}", headers=customer.headers)
        assert got.json()["source"] == "workflow"
        assert_same_view(got.json(), stored)
        assert_same_view(await live_view(temporal_client, engine, decision_id), stored)

        queued = await _queued(client, analyst, decision_id)
        assert queued.pop("user_id") == str(customer.id)
        assert queued.pop("queue_reason") == "REFERRED"
        assert queued.pop("escalated_at") is None
        assert queued.pop("review_due_at") is not None  # the deadline started with the referral
        assert_same_view(answered, queued)


async def _queued(client: httpx.AsyncClient, analyst: Account, decision_id: str) -> dict[str, Any]:
    """The decision's item in the review queue, following the pages."""
    offset: int | None = 0
    while offset is not None:
        response = await client.get(
            "/v1/reviews", params={"limit": 200, "offset": offset}, headers=analyst.headers
        )
        page = response.json()
        for item in page["items"]:
            if item["id"] == decision_id:
                found: dict[str, Any] = item
                return found
        offset = page["next_offset"]
    raise AssertionError(f"{decision_id} is not in the review queue")
