"""Financial history for tests, the only way it enters ECS: through the ledger feed over HTTP."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx

from ecs.settings import DEV_LEDGER_KEY

LEDGER_URL = "/v1/ledger/transactions"
LEDGER_HEADERS = {"X-Ledger-Key": DEV_LEDGER_KEY}  # the test settings keep the default key


def entry(
    user_id: uuid.UUID | str, amount: str, direction: str, when: datetime, **extra: Any
) -> dict[str, Any]:
    """One ledger transaction as the ledger would send it, with a fresh ledger id."""
    return {
        "ledger_id": f"tx-{uuid.uuid4().hex}",
        "user_id": str(user_id),
        "amount": amount,
        "currency": "BRL",
        "direction": direction,
        "occurred_at": when.isoformat(),
        **extra,
    }


def _checked(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["rejected"] == 0, body
    return body


async def feed(client: httpx.AsyncClient, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Post one batch; every entry must be accepted (created or duplicate)."""
    response = await client.post(LEDGER_URL, json={"transactions": entries}, headers=LEDGER_HEADERS)
    return _checked(response)


def feed_sync(api_url: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    response = httpx.post(
        api_url + LEDGER_URL, json={"transactions": entries}, headers=LEDGER_HEADERS
    )
    return _checked(response)
