"""The live and the stored view of the same decision are equal, field by field.

A decision is answered live by its workflow (``?wait=``, GET while open) and from the database
(lists, the review queue, reads while Temporal is down). Both go through the one mapper in
``ecs.credit.views``; these tests pin that for DENIED, OFFERED and ACTIVE decisions (REFERRED is
in ``test_reviews``, which has a worker whose model is down).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from tests.api.conftest import Account, seed_good_history
from tests.api.decision_views import assert_same_view, live_view, stored_view
from tests.support import async_wait_for

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def http(api_url: str) -> Any:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        yield client


async def test_denied_reads_the_same_live_and_stored(
    http: httpx.AsyncClient, customer: Account, temporal_client: Client, engine: Engine
) -> None:
    response = await http.post(
        "/v1/credit-decisions", params={"wait": 20}, headers=customer.headers
    )
    assert response.status_code == 201, response.text
    answered = response.json()
    assert answered["status"] == "DENIED" and answered["source"] == "workflow"
    # A denial has no terms: null, not "0.00" (which would read as a real limit).
    assert answered["approved"] is False
    assert answered["credit_limit"] is None and answered["interest_rate"] is None

    async def closed() -> dict[str, Any] | None:
        view = await stored_view(http, customer, answered["id"])
        return view if view["status"] == "DENIED" else None

    stored = await async_wait_for(closed, timeout=20, message="the stored denial")
    assert_same_view(answered, stored)
    assert_same_view(await live_view(temporal_client, engine, answered["id"]), stored)


async def test_offered_and_active_read_the_same_live_and_stored(
    http: httpx.AsyncClient, customer: Account, temporal_client: Client, engine: Engine
) -> None:
    await seed_good_history(http, customer)
    response = await http.post(
        "/v1/credit-decisions", params={"wait": 20}, headers=customer.headers
    )
    assert response.status_code == 201, response.text
    decision_id = response.json()["id"]

    got = await http.get(f"/v1/credit-decisions/{decision_id}", headers=customer.headers)
    live = got.json()
    assert live["status"] == "OFFERED" and live["source"] == "workflow", live
    assert live["approved"] is True and live["offer"]["status"] == "OPEN"
    assert_same_view(live, await stored_view(http, customer, decision_id))

    accepted = await http.post(
        f"/v1/credit-decisions/{decision_id}/accept", headers=customer.headers
    )
    assert accepted.status_code == 202, accepted.text

    async def active() -> dict[str, Any] | None:
        view = await stored_view(http, customer, decision_id)
        return view if view["status"] == "ACTIVE" else None

    stored = await async_wait_for(active, timeout=20, message="the stored, ACTIVE decision")
    assert stored["offer"]["status"] == "DEPLOYED"
    assert_same_view(await live_view(temporal_client, engine, decision_id), stored)
