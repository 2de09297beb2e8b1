"""Transactions: customers read their own history; only the ledger feed writes it.

The feed authenticates as a service, records a batch once however often it is replayed, and
refuses implausible entries one by one with a code.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from ecs.db.tables import Transaction, User
from tests import ledger
from tests.api.conftest import Account, assert_problem


def _feed(
    api_url: str, entries: list[dict[str, Any]], headers: dict[str, str] = ledger.LEDGER_HEADERS
) -> httpx.Response:
    return httpx.post(api_url + ledger.LEDGER_URL, json={"transactions": entries}, headers=headers)


def _count(engine: Engine, user_id: uuid.UUID) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(Transaction)
        return session.exec(query.where(Transaction.user_id == user_id)).one()


def test_customers_cannot_create_transactions(
    api_url: str, engine: Engine, customer: Account, analyst: Account
) -> None:
    body = {"amount": "0.01", "direction": "in", "occurred_at": "2000-01-01T00:00:00Z"}
    for headers in (customer.headers, analyst.headers, {}):
        response = httpx.post(f"{api_url}/v1/transactions", json=body, headers=headers)
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET"
    assert _count(engine, customer.id) == 0


def test_feed_refuses_anyone_without_the_ledger_key(api_url: str, customer: Account) -> None:
    entries = [ledger.entry(customer.id, "10.00", "in", datetime.now(UTC))]
    for headers in (
        {},
        customer.headers,
        {"X-Ledger-Key": "dev-only-ledger-ke"},
        {"X-Ledger-Key": "wrong-" * 10},
        {"X-API-Key": "dev-only-ingest-key"},  # the emotion ingest key is not the ledger's
    ):
        body = assert_problem(_feed(api_url, entries, headers), 401)
        assert str(body["type"]).endswith("/ledger-unauthorized")
    malformed = httpx.post(api_url + ledger.LEDGER_URL, content=b"{", headers=customer.headers)
    assert_problem(malformed, 401)  # refused before its body is even looked at


def test_a_replayed_batch_inserts_nothing_twice(
    api_url: str, engine: Engine, customer: Account
) -> None:
    now = datetime.now(UTC)
    first = [ledger.entry(customer.id, f"{n}.00", "in", now - timedelta(days=n)) for n in (1, 2)]
    created = ledger.feed_sync(api_url, first)
    assert (created["created"], created["duplicates"]) == (2, 0)
    assert [r["status"] for r in created["results"]] == ["created", "created"]

    extra = ledger.entry(customer.id, "3.00", "out", now - timedelta(days=3))
    replay = ledger.feed_sync(api_url, [*first, extra, first[0]])
    assert [r["status"] for r in replay["results"]] == [
        "duplicate", "duplicate", "created", "duplicate",
    ]  # fmt: skip
    ids = [r["transaction_id"] for r in created["results"]]
    assert [r["transaction_id"] for r in replay["results"]] == [*ids, mock.ANY, ids[0]]
    assert _count(engine, customer.id) == 3

    # A ledger id reused for a different movement is refused, never overwritten.
    changed = {**first[0], "amount": "999999.00"}
    result = _feed(api_url, [changed]).json()["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "ledger-id-reused")
    history = httpx.get(f"{api_url}/v1/transactions", headers=customer.headers).json()["items"]
    assert sorted(t["amount"] for t in history) == ["1.00", "2.00", "3.00"]
    assert {t["currency"] for t in history} == {"BRL"}


def test_implausible_entries_are_refused_one_by_one(
    api_url: str, engine: Engine, customer: Account
) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        user = session.get(User, customer.id)
        assert user is not None
        registered = user.created_at

    def one(when: datetime, amount: str = "1.00", **extra: Any) -> dict[str, Any]:
        return ledger.entry(customer.id, amount, "in", when, **extra)

    cases = {
        "before-ledger-start": one(datetime(2000, 1, 1, tzinfo=UTC)),  # the 65 % score cut
        "before-account": one(registered - timedelta(days=731)),
        "in-future": one(now + timedelta(minutes=10)),
        "amount-out-of-bounds": one(now, "1000000.01"),
        "currency-not-accepted": one(now, currency="USD"),
        "unknown-user": ledger.entry(uuid.uuid4(), "1.00", "in", now),
        "occurred-at-out-of-range": {**one(now), "occurred_at": "0001-01-01T00:00:00+14:00"},
    }
    good = ledger.entry(customer.id, "42.00", "in", registered - timedelta(days=700))
    response = _feed(api_url, [*cases.values(), good])
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert [r["code"] for r in results[:-1]] == list(cases)
    assert all(r["status"] == "rejected" and r["detail"] for r in results[:-1])
    assert results[-1]["status"] == "created"
    assert (body["created"], body["rejected"]) == (1, len(cases))
    assert _count(engine, customer.id) == 1


def test_malformed_batches_are_422_and_record_nothing(
    api_url: str, engine: Engine, customer: Account
) -> None:
    now = datetime.now(UTC)
    bad_values: list[dict[str, Any]] = [
        {"amount": "1_000.00"},
        {"amount": "\u0661\u0662.\u0665\u0660"},  # Arabic-Indic digits
        {"amount": 12.5},
        {"amount": "12.5"},
        {"amount": "-5.00"},
        {"direction": "sideways"},
        {"currency": "brl"},
        {"occurred_at": now.replace(tzinfo=None).isoformat()},
        {"ledger_id": ""},
        {"unexpected": 1},
    ]
    for override in bad_values:
        entries = [
            ledger.entry(customer.id, "1.00", "in", now),
            {**ledger.entry(customer.id, "1.00", "in", now), **override},
        ]
        body = assert_problem(_feed(api_url, entries), 422)
        assert {e["loc"][2] for e in body["errors"]} == {1}, (override, body)  # type: ignore[attr-defined]
    assert_problem(_feed(api_url, []), 422)
    too_many = [ledger.entry(customer.id, "1.00", "in", now)] * 1001
    assert_problem(_feed(api_url, too_many), 422)
    assert _count(engine, customer.id) == 0


def test_listing_is_own_newest_first_and_paginated(
    api_url: str, customer: Account, other_customer: Account
) -> None:
    base = datetime.now(UTC) - timedelta(days=10)
    ledger.feed_sync(
        api_url,
        [
            *(
                ledger.entry(customer.id, f"{d + 1}.00", "in", base + timedelta(days=d))
                for d in range(5)
            ),
            ledger.entry(other_customer.id, "999.00", "in", base),
        ],
    )
    first = httpx.get(
        f"{api_url}/v1/transactions", params={"limit": 2}, headers=customer.headers
    ).json()
    assert [t["amount"] for t in first["items"]] == ["5.00", "4.00"]
    assert first["next_offset"] == 2
    second = httpx.get(
        f"{api_url}/v1/transactions",
        params={"limit": 2, "offset": first["next_offset"]},
        headers=customer.headers,
    ).json()
    assert [t["amount"] for t in second["items"]] == ["3.00", "2.00"]
    last = httpx.get(
        f"{api_url}/v1/transactions", params={"limit": 2, "offset": 4}, headers=customer.headers
    ).json()
    assert [t["amount"] for t in last["items"]] == ["1.00"]
    assert last["next_offset"] is None
    assert "user_id" not in last["items"][0]


def test_pagination_parameters_are_validated(api_url: str, customer: Account) -> None:
    response = httpx.get(
        f"{api_url}/v1/transactions", params={"limit": 0, "offset": -1}, headers=customer.headers
    )
    body = assert_problem(response, 422)
    locs = sorted(tuple(e["loc"]) for e in body["errors"])  # type: ignore[attr-defined]
    assert locs == [("query", "limit"), ("query", "offset")]


async def test_concurrent_copies_of_a_batch_record_each_entry_once(
    api_url: str, engine: Engine, customer: Account
) -> None:
    now = datetime.now(UTC)
    batch = [
        ledger.entry(customer.id, f"{n}.00", "in", now - timedelta(hours=n)) for n in range(1, 21)
    ]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        answers = await asyncio.gather(*(ledger.feed(client, batch) for _ in range(4)))
    assert sum(a["created"] for a in answers) == len(batch)
    assert sum(a["duplicates"] for a in answers) == 3 * len(batch)
    ids = {r["ledger_id"]: r["transaction_id"] for r in answers[0]["results"]}
    for answer in answers[1:]:
        assert {r["ledger_id"]: r["transaction_id"] for r in answer["results"]} == ids
    assert _count(engine, customer.id) == len(batch)
