"""Human review end to end (issue 13): a customer contests, an analyst answers, four-eyes, the
deadline escalates, the window closes. Real API over HTTP, the real worker on a real Temporal
server, the real database; nothing is faked.

Each flow is driven the way its users drive it: the customer through ``/v1/credit-decisions``,
analysts through ``/v1/reviews``, and what the app learns is read back from the inbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from ecs.contracts import workflow_id_for
from ecs.settings import Settings
from tests.api.conftest import (
    Account,
    assert_problem,
    make_analyst,
    register_and_login,
    seed_good_history,
    serve_api,
)
from tests.support import async_wait_for

pytestmark = pytest.mark.usefixtures("worker")
WAIT = {"wait": 20}
SMALL = {"credit_limit": "1200.00", "interest_rate": "0.2400", "credit_type": "SHORT_TERM"}
LARGE = {"credit_limit": "30000.00", "interest_rate": "0.1800", "credit_type": "LONG_TERM"}


@pytest.fixture
async def client(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        yield http


async def _request(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    response = await client.post("/v1/credit-decisions", params=WAIT, headers=account.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _contest(
    client: httpx.AsyncClient, account: Account, decision_id: str, reason: str
) -> httpx.Response:
    return await client.post(
        f"/v1/credit-decisions/{decision_id}/contest",
        json={"reason": reason},
        headers=account.headers,
    )


async def _case(client: httpx.AsyncClient, analyst: Account, decision_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/reviews/{decision_id}", headers=analyst.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _queue(client: httpx.AsyncClient, analyst: Account) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        response = await client.get(
            "/v1/reviews", params={"limit": 200, "offset": offset}, headers=analyst.headers
        )
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        offset = response.json()["next_offset"]
    return items


async def _status_becomes(
    client: httpx.AsyncClient, account: Account, decision_id: str, status: str
) -> dict[str, Any]:
    last: dict[str, Any] = {}

    async def reached() -> dict[str, Any] | None:
        got = await client.get(f"/v1/credit-decisions/{decision_id}", headers=account.headers)
        last.update(got.json())
        return last if last["status"] == status else None

    try:
        return await async_wait_for(reached, timeout=30, message=f"the decision to be {status}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last seen: {last}") from None


async def _notified(
    client: httpx.AsyncClient, account: Account, *kinds: str
) -> dict[str, dict[str, Any]]:
    """The account's notifications of these kinds, once all of them are in the inbox."""

    async def arrived() -> dict[str, dict[str, Any]] | None:
        got = await client.get(
            "/v1/me/notifications", params={"limit": 100}, headers=account.headers
        )
        by_kind = {n["kind"]: n for n in got.json()["items"]}
        return by_kind if set(kinds) <= by_kind.keys() else None

    return await async_wait_for(arrived, timeout=30, message=f"notifications {kinds}")


def _kinds(case: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(r["kind"], r["sequence"], r["outcome"]) for r in case["records"]]


async def test_a_contested_denial_is_reviewed_offered_and_deployed(
    client: httpx.AsyncClient, customer: Account, analyst: Account
) -> None:
    denied = await _request(client, customer)  # no ledger history: the policy denies
    assert denied["status"] == "DENIED"
    decision_id = denied["id"]

    as_analyst = await _contest(client, analyst, decision_id, "not mine")
    assert_problem(as_analyst, 404)  # another user's decision does not exist for them
    short = await _contest(client, customer, decision_id, "x")
    assert_problem(short, 422)

    contested = await _contest(client, customer, decision_id, "My salary is paid in cash")
    assert contested.status_code == 202, contested.text
    assert contested.json()["status"] == "CONTESTED"
    again = await _contest(client, customer, decision_id, "A second try")
    assert again.status_code == 202 and again.json()["status"] == "CONTESTED"  # same contest
    assert (await _status_becomes(client, customer, decision_id, "CONTESTED"))["approved"] is False

    (item,) = [i for i in await _queue(client, analyst) if i["id"] == decision_id]
    assert item["queue_reason"] == "CONTESTED" and item["review_due_at"]
    case = await _case(client, analyst, decision_id)
    assert case["contest_reason"] == "My salary is paid in cash"
    assert case["features"]["tx_count_90d"] == 0
    assert case["contributions"] and case["emotions"]["days"] == 30
    assert _kinds(case) == [("AUTOMATED", 0, "DENIED"), ("CONTEST", 1, "CONTESTED")]
    assert_problem(await client.get(f"/v1/reviews/{decision_id}", headers=customer.headers), 403)

    review = await client.post(
        f"/v1/reviews/{decision_id}",
        json={"approve": True, "comment": "Cash salary confirmed by payslips", **SMALL},
        headers=analyst.headers,
    )
    assert review.status_code == 202, review.text
    assert review.json()["status"] == "OFFERED"
    offered = await _status_becomes(client, customer, decision_id, "OFFERED")
    assert offered["credit_limit"] == SMALL["credit_limit"]
    assert offered["reason_codes"] == ["MANUAL_REVIEW"]
    notes = await _notified(
        client, customer, "decision_denied", "contest_received", "review_outcome", "offer_ready"
    )
    assert notes["review_outcome"]["data"]["offer_id"] == offered["offer"]["id"]

    accepted = await client.post(
        f"/v1/credit-decisions/{decision_id}/accept", headers=customer.headers
    )
    assert accepted.status_code == 202, accepted.text
    await _status_becomes(client, customer, decision_id, "ACTIVE")
    case = await _case(client, analyst, decision_id)
    assert _kinds(case)[-1] == ("REVIEW", 1, "APPROVED")
    assert case["records"][-1]["reviewer_id"] == str(analyst.id)
    assert case["records"][-1]["comment"] == "Cash salary confirmed by payslips"

    late = await _contest(client, customer, decision_id, "Now I want more")
    assert "ACTIVE" in str(assert_problem(late, 409)["detail"])


async def test_a_contested_offer_is_upheld_not_withdrawn(
    client: httpx.AsyncClient, customer: Account, analyst: Account
) -> None:
    await seed_good_history(client, customer)
    offered = await _request(client, customer)
    assert offered["status"] == "OFFERED", offered
    decision_id, terms = offered["id"], offered["offer"]

    contested = await _contest(client, customer, decision_id, "The rate seems too high")
    assert contested.status_code == 202, contested.text
    blocked = await client.post(
        f"/v1/credit-decisions/{decision_id}/accept", headers=customer.headers
    )
    assert "CONTESTED" in str(assert_problem(blocked, 409)["detail"])
    withdraw = await client.post(
        f"/v1/reviews/{decision_id}",
        json={"approve": False, "comment": "Withdraw it"},
        headers=analyst.headers,
    )
    assert "not withdrawn" in str(assert_problem(withdraw, 409)["detail"])

    same_terms = {k: terms[k] for k in ("credit_limit", "interest_rate", "credit_type")}
    upheld = await client.post(
        f"/v1/reviews/{decision_id}",
        json={"approve": True, "comment": "The rate follows the band", **same_terms},
        headers=analyst.headers,
    )
    assert upheld.status_code == 202 and upheld.json()["status"] == "OFFERED", upheld.text
    again = await _status_becomes(client, customer, decision_id, "OFFERED")
    assert again["offer"]["id"] == terms["id"]  # the same offer, open again
    assert again["offer"]["expires_at"] > terms["expires_at"]  # with a fresh expiry
    await _notified(client, customer, "review_outcome")
    accepted = await client.post(
        f"/v1/credit-decisions/{decision_id}/accept", headers=customer.headers
    )
    assert accepted.status_code == 202, accepted.text
    await _status_becomes(client, customer, decision_id, "ACTIVE")


async def test_no_contest_while_another_decision_is_open(
    client: httpx.AsyncClient, customer: Account
) -> None:
    denied = await _request(client, customer)
    assert denied["status"] == "DENIED"
    await seed_good_history(client, customer)
    offered = await _request(client, customer)
    assert offered["status"] == "OFFERED"

    refused = await _contest(client, customer, denied["id"], "I was denied unfairly")
    assert "another credit decision open" in str(assert_problem(refused, 409)["detail"])
    stored = await client.get(f"/v1/credit-decisions/{denied['id']}", headers=customer.headers)
    assert stored.json()["status"] == "DENIED"  # the refused contest left no trace


async def test_four_eyes_above_the_limit(
    api_url: str, client: httpx.AsyncClient, engine: Engine, customer: Account, analyst: Account
) -> None:
    second = make_analyst(api_url, engine)
    decision_id = (await _request(client, customer))["id"]
    contested = await _contest(client, customer, decision_id, "Large inheritance")
    assert contested.status_code == 202, contested.text
    await _status_becomes(client, customer, decision_id, "CONTESTED")

    async def propose() -> None:
        proposed = await client.post(
            f"/v1/reviews/{decision_id}",
            json={"approve": True, "comment": "Inheritance documented", **LARGE},
            headers=analyst.headers,
        )
        assert proposed.status_code == 202, proposed.text
        assert proposed.json()["status"] == "CONFIRMING"
        await _status_becomes(client, customer, decision_id, "CONFIRMING")

    await propose()
    case = await _case(client, analyst, decision_id)
    assert case["proposal"]["credit_limit"] == LARGE["credit_limit"]
    assert case["proposal"]["reviewer_id"] == str(analyst.id)
    assert case["four_eyes_limit"] == "20000.00"
    own = await client.post(
        f"/v1/reviews/{decision_id}/confirm",
        json={"confirm": True, "comment": "Looks right to me"},
        headers=analyst.headers,
    )
    assert "second analyst" in str(assert_problem(own, 409)["detail"])

    rejected = await client.post(
        f"/v1/reviews/{decision_id}/confirm",
        json={"confirm": False, "comment": "Ask for the probate first"},
        headers=second.headers,
    )
    assert rejected.status_code == 202 and rejected.json()["status"] == "CONTESTED", rejected.text
    await _status_becomes(client, customer, decision_id, "CONTESTED")

    await propose()
    confirmed = await client.post(
        f"/v1/reviews/{decision_id}/confirm",
        json={"confirm": True, "comment": "Probate seen"},
        headers=second.headers,
    )
    assert confirmed.status_code == 202 and confirmed.json()["status"] == "OFFERED"
    offered = await _status_becomes(client, customer, decision_id, "OFFERED")
    assert offered["offer"]["credit_limit"] == LARGE["credit_limit"]
    records = (await _case(client, analyst, decision_id))["records"]
    assert [(r["kind"], r["sequence"], r["outcome"]) for r in records] == [
        ("AUTOMATED", 0, "DENIED"),
        ("CONTEST", 1, "CONTESTED"),
        ("PROPOSAL", 1, "APPROVED"),
        ("CONFIRMATION", 1, "REJECTED"),
        ("PROPOSAL", 2, "APPROVED"),
        ("REVIEW", 1, "APPROVED"),
        ("CONFIRMATION", 2, "CONFIRMED"),
    ]
    assert records[-2]["reviewer_id"] == str(analyst.id)
    assert records[-1]["reviewer_id"] == str(second.id)
    assert records[3]["comment"] == "Ask for the probate first"


@pytest.fixture
def strict_api(settings: Settings) -> Iterator[str]:
    """An API whose decisions are overdue for review after 2 s and contestable for 3 s (the
    rules travel in each workflow's input, so the session's worker runs them as set here)."""
    strict = settings.model_copy(
        update={"review_deadline_hours": 2 / 3600, "contest_window_days": 3 / 86400}
    )
    with serve_api(strict) as url:
        yield url


async def test_an_overdue_review_is_escalated_and_the_window_closes(
    strict_api: str, engine: Engine, temporal_client: Client
) -> None:
    customer, late = register_and_login(strict_api), register_and_login(strict_api)
    analyst = make_analyst(strict_api, engine)
    async with httpx.AsyncClient(base_url=strict_api, timeout=60) as client:
        decision_id = (await _request(client, customer))["id"]
        missed_id = (await _request(client, late))["id"]
        assert (
            await _contest(client, customer, decision_id, "Please look again")
        ).status_code == 202

        async def escalated() -> dict[str, Any] | None:
            items = {i["id"]: i for i in await _queue(client, analyst)}
            item = items.get(decision_id)
            return item if item and item["escalated_at"] else None

        item = await async_wait_for(escalated, timeout=30, message="the review to be escalated")
        assert item["escalated_at"] >= item["review_due_at"]
        queue = await _queue(client, analyst)
        flagged = [i["escalated_at"] is not None for i in queue]
        assert flagged == sorted(flagged, reverse=True)  # the overdue come first
        note = (await _notified(client, analyst, "review_overdue"))["review_overdue"]
        assert note["data"]["decision_id"] == decision_id
        assert _kinds(await _case(client, analyst, decision_id))[-1] == (
            "ESCALATION",
            1,
            "CONTESTED",
        )

        # Nobody contested the other denial: its workflow ends with the window, and then a
        # contest finds nothing left to change.
        handle = temporal_client.get_workflow_handle(workflow_id_for(missed_id))
        assert (await asyncio.wait_for(handle.result(), timeout=30))["status"] == "DENIED"
        closed = await _contest(client, late, missed_id, "Too late now")
        assert "DENIED" in str(assert_problem(closed, 409)["detail"])
