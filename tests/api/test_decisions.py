"""Credit decisions through the real API, the real Temporal worker and the real database.

Async tests with ``httpx.AsyncClient`` on purpose: the worker runs on the test's event loop, so a
blocking HTTP call that waits for a decision would also stop the worker that makes it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from api.main import create_app
from ecs.db.tables import CreditDecision
from ecs.settings import Settings
from tests.api.conftest import Account, assert_problem, seed_good_history
from tests.support import async_wait_for, free_port

pytestmark = pytest.mark.usefixtures("worker")
WAIT = {"wait": 20}


@pytest.fixture
async def client(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        yield http


async def _offered(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    await seed_good_history(client, account)
    response = await client.post("/v1/credit-decisions", params=WAIT, headers=account.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "OFFERED", body
    return body


def _count_decisions(engine: Engine, user_id: uuid.UUID) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(CreditDecision)
        return session.exec(query.where(CreditDecision.user_id == user_id)).one()


async def test_offer_accept_deploys_credit_line_and_notifies(
    client: httpx.AsyncClient, customer: Account
) -> None:
    decision = await _offered(client, customer)
    assert decision["approved"] is True
    assert decision["source"] == "workflow"
    assert 0 <= decision["risk_score"] <= 1 and decision["reason_codes"]
    assert decision["credit_type"] in ("SHORT_TERM", "LONG_TERM")
    offer = decision["offer"]
    assert offer["id"] and offer["expires_at"] and offer["credit_limit"] == decision["credit_limit"]

    live = await client.get(f"/v1/credit-decisions/{decision['id']}", headers=customer.headers)
    assert live.status_code == 200 and live.json()["status"] == "OFFERED"

    accepted = await client.post(
        f"/v1/credit-decisions/{decision['id']}/accept", headers=customer.headers
    )
    assert accepted.status_code == 202, accepted.text
    assert accepted.json() == {"decision_id": decision["id"], "status": "ACCEPTED"}

    async def credit_line() -> dict[str, Any] | None:
        response = await client.get("/v1/me/credit", headers=customer.headers)
        return response.json() if response.status_code == 200 else None

    line = await async_wait_for(credit_line, timeout=20, message="the credit line")
    assert line["credit_limit"] == decision["credit_limit"]
    assert line["offer_id"] == offer["id"]

    async def active_notice() -> list[dict[str, Any]] | None:
        page = (await client.get("/v1/me/notifications", headers=customer.headers)).json()
        items: list[dict[str, Any]] = page["items"]
        return items if any(n["kind"] == "credit_active" for n in items) else None

    notices = await async_wait_for(active_notice, timeout=20, message="the activation notice")
    assert notices[0]["kind"] == "credit_active"  # newest first
    assert {"offer_ready", "credit_active"} <= {n["kind"] for n in notices}

    async def active() -> dict[str, Any] | None:
        response = await client.get(
            f"/v1/credit-decisions/{decision['id']}", headers=customer.headers
        )
        body: dict[str, Any] = response.json()
        return body if body["status"] == "ACTIVE" and body["source"] == "database" else None

    final = await async_wait_for(active, timeout=20, message="the closed, ACTIVE decision")
    assert final["offer"]["status"] == "DEPLOYED" and final["approved"] is True

    # Accepting again (a client retrying after a lost answer) is the same success, with the
    # decision's real status, never "409 no open offer".
    again = await client.post(
        f"/v1/credit-decisions/{decision['id']}/accept", headers=customer.headers
    )
    assert again.status_code == 202, again.text
    assert again.json() == {"decision_id": decision["id"], "status": "ACTIVE"}


async def test_decline_then_accept_is_409(client: httpx.AsyncClient, customer: Account) -> None:
    decision = await _offered(client, customer)
    declined = await client.post(
        f"/v1/credit-decisions/{decision['id']}/decline",
        json={"reason": "changed my mind"},
        headers=customer.headers,
    )
    assert declined.status_code == 202, declined.text
    assert declined.json()["status"] == "DECLINED"
    late = await client.post(
        f"/v1/credit-decisions/{decision['id']}/accept", headers=customer.headers
    )
    body = assert_problem(late, 409)
    assert "DECLINED" in str(body["detail"]) or "no open offer" in str(body["detail"])


async def test_denied_without_history_and_nothing_to_accept(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.post("/v1/credit-decisions", params=WAIT, headers=customer.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "DENIED" and body["approved"] is False
    assert body["offer"] is None and body["reason_codes"]
    accept = await client.post(
        f"/v1/credit-decisions/{body['id']}/accept", headers=customer.headers
    )
    assert_problem(accept, 409)


async def test_without_wait_the_answer_is_202_with_location(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.post("/v1/credit-decisions", headers=customer.headers)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "PENDING"
    assert response.headers["location"] == f"/v1/credit-decisions/{body['id']}"

    async def decided() -> dict[str, Any] | None:
        got = (await client.get(response.headers["location"], headers=customer.headers)).json()
        return got if got["status"] != "PENDING" else None

    assert (await async_wait_for(decided, timeout=20, message="a decision"))["status"] == "DENIED"


async def test_same_idempotency_key_returns_the_same_decision(
    client: httpx.AsyncClient, engine: Engine, customer: Account
) -> None:
    headers = {**customer.headers, "Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = await client.post("/v1/credit-decisions", params=WAIT, headers=headers)
    second = await client.post("/v1/credit-decisions", headers=headers)
    assert first.status_code == 201 and second.status_code == 200, second.text
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["location"] == f"/v1/credit-decisions/{first.json()['id']}"
    # The decision was DENIED (closed): without the key a new one is made; with it, never.
    third = await client.post("/v1/credit-decisions", headers=headers)
    assert third.json()["id"] == first.json()["id"]
    assert _count_decisions(engine, customer.id) == 1


async def test_one_open_decision_per_user_under_concurrency(
    client: httpx.AsyncClient, engine: Engine, customer: Account
) -> None:
    await seed_good_history(client, customer)
    responses = await asyncio.gather(
        *(client.post("/v1/credit-decisions", headers=customer.headers) for _ in range(8))
    )
    assert all(r.status_code in (200, 202) for r in responses), [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(r.status_code for r in responses) == [200] * 7 + [202]
    assert _count_decisions(engine, customer.id) == 1

    # A different Idempotency-Key still gets the open decision, not a second one.
    other_key = {**customer.headers, "Idempotency-Key": "another-key"}
    again = await client.post("/v1/credit-decisions", headers=other_key)
    assert again.status_code == 200 and again.json()["id"] == responses[0].json()["id"]
    assert _count_decisions(engine, customer.id) == 1


async def test_other_users_decisions_are_not_found(
    client: httpx.AsyncClient, customer: Account, other_customer: Account
) -> None:
    created = await client.post("/v1/credit-decisions", headers=customer.headers)
    decision_id = created.json()["id"]
    for method, path in [
        ("GET", f"/v1/credit-decisions/{decision_id}"),
        ("POST", f"/v1/credit-decisions/{decision_id}/accept"),
        ("POST", f"/v1/credit-decisions/{decision_id}/decline"),
        ("GET", f"/v1/credit-decisions/{uuid.uuid4()}"),
    ]:
        response = await client.request(method, path, headers=other_customer.headers)
        assert_problem(response, 404)
    listing = (await client.get("/v1/credit-decisions", headers=other_customer.headers)).json()
    assert listing["items"] == []
    bad_id = await client.get("/v1/credit-decisions/not-a-uuid", headers=customer.headers)
    assert_problem(bad_id, 422)
    bad_wait = await client.post(
        "/v1/credit-decisions", params={"wait": 31}, headers=customer.headers
    )
    assert_problem(bad_wait, 422)
    assert_problem(await client.post("/v1/credit-decisions"), 401)


async def test_listing_is_newest_first_and_paginated(
    client: httpx.AsyncClient, customer: Account
) -> None:
    ids = []
    for _ in range(3):  # each is DENIED (no history) and closes, so the next one is new
        response = await client.post("/v1/credit-decisions", params=WAIT, headers=customer.headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    first = (
        await client.get("/v1/credit-decisions", params={"limit": 2}, headers=customer.headers)
    ).json()
    assert [d["id"] for d in first["items"]] == ids[::-1][:2]
    assert first["next_offset"] == 2
    assert all(d["source"] == "database" and d["status"] == "DENIED" for d in first["items"])
    rest = (
        await client.get(
            "/v1/credit-decisions", params={"limit": 2, "offset": 2}, headers=customer.headers
        )
    ).json()
    assert [d["id"] for d in rest["items"]] == [ids[0]] and rest["next_offset"] is None


async def test_temporal_outage_is_503_and_the_next_request_recovers(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, customer: Account
) -> None:
    await seed_good_history(client, customer)
    down = settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    with TestClient(create_app(down)) as outage:
        refused = outage.post("/v1/credit-decisions", headers=customer.headers)
        body = assert_problem(refused, 503)
        assert refused.headers["retry-after"]
        decision_id = body["decision_id"]
        assert refused.headers["location"] == f"/v1/credit-decisions/{decision_id}"
        # The request was not lost: the header row is stored, and reads fall back to it.
        fallback = outage.get(f"/v1/credit-decisions/{decision_id}", headers=customer.headers)
        assert fallback.status_code == 200
        assert fallback.json()["source"] == "database"
        assert fallback.json()["status"] == "PENDING"
        assert_problem(
            outage.post(f"/v1/credit-decisions/{decision_id}/accept", headers=customer.headers),
            503,
        )
    assert _count_decisions(engine, customer.id) == 1

    recovered = await client.post("/v1/credit-decisions", params=WAIT, headers=customer.headers)
    assert recovered.status_code == 200, recovered.text
    assert recovered.json()["id"] == decision_id
    assert recovered.json()["status"] == "OFFERED"
    assert _count_decisions(engine, customer.id) == 1


async def test_terminated_workflow_does_not_block_the_user_forever(
    client: httpx.AsyncClient, customer: Account, engine: Engine, temporal_client: Any
) -> None:
    """An operator terminates a stuck decision: the next request closes it and starts anew."""
    first = await _offered(client, customer)
    workflow_id = f"credit-decision-{first['id']}"
    await temporal_client.get_workflow_handle(workflow_id).terminate(reason="operator test")

    again = await client.post("/v1/credit-decisions", params=WAIT, headers=customer.headers)
    assert again.status_code == 201, again.text
    assert again.json()["id"] != first["id"]
    with Session(engine) as session:
        old = session.get(CreditDecision, uuid.UUID(first["id"]))
    assert old is not None and old.status == "FAILED"
