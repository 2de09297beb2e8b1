"""Transactions: validation, ownership and newest-first pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.conftest import Account, assert_problem


def _post(api_url: str, account: Account, **body: object) -> httpx.Response:
    payload: dict[str, object] = {
        "amount": "125.50",
        "direction": "in",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    payload.update(body)
    return httpx.post(f"{api_url}/v1/transactions", json=payload, headers=account.headers)


def test_create_transaction(api_url: str, customer: Account) -> None:
    response = _post(api_url, customer, description="salary")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["amount"] == "125.50"
    assert body["direction"] == "in" and body["description"] == "salary"
    assert "user_id" not in body


def test_malformed_transactions_are_422_naming_fields(api_url: str, customer: Account) -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    cases = {
        "amount": {"amount": "0"},
        "direction": {"direction": "sideways"},
        "occurred_at": {"occurred_at": future},
    }
    for field, override in cases.items():
        body = assert_problem(_post(api_url, customer, **override), 422)
        assert [e["loc"] for e in body["errors"]] == [["body", field]], body  # type: ignore[attr-defined]
    for bad in ("12.345", "-5", "abc"):
        assert_problem(_post(api_url, customer, amount=bad), 422)
    naive = datetime.now().replace(tzinfo=None).isoformat()
    assert_problem(_post(api_url, customer, occurred_at=naive), 422)
    body = assert_problem(_post(api_url, customer, ammount="1.00"), 422)
    assert ["body", "ammount"] in [e["loc"] for e in body["errors"]]  # type: ignore[attr-defined]


def test_listing_is_own_newest_first_and_paginated(
    api_url: str, customer: Account, other_customer: Account
) -> None:
    base = datetime.now(UTC) - timedelta(days=10)
    for day in range(5):
        stamp = (base + timedelta(days=day)).isoformat()
        assert _post(api_url, customer, amount=f"{day + 1}.00", occurred_at=stamp).is_success
    assert _post(api_url, other_customer, amount="999.00").is_success

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


def test_pagination_parameters_are_validated(api_url: str, customer: Account) -> None:
    response = httpx.get(
        f"{api_url}/v1/transactions", params={"limit": 0, "offset": -1}, headers=customer.headers
    )
    body = assert_problem(response, 422)
    locs = sorted(tuple(e["loc"]) for e in body["errors"])  # type: ignore[attr-defined]
    assert locs == [("query", "limit"), ("query", "offset")]
