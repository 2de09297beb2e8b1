"""Nothing a customer token can send changes a decision's financial inputs.

Two customers get the same history from the ledger feed. One then sends a forged transaction
(single, batched, as a ledger entry for itself) to every write operation the API documents, and
to ``/v1/transactions`` with every write method, with its token as bearer and as ledger key.
The financial features of both customers' decisions must still be equal, and the attacked
customer's stored transactions unchanged.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ecs.db.tables import DecisionRecord, Transaction
from ecs.domain.features import EMOTIONAL_FEATURES
from tests import ledger
from tests.api.conftest import Account, seed_good_history

pytestmark = pytest.mark.usefixtures("worker")
# Erasure removes the account (and its history) altogether: no decision follows it.
NOT_PROBED = {("delete", "/v1/me")}


def _forgeries(account: Account) -> list[dict[str, Any]]:
    forged = ledger.entry(account.id, "999999.99", "in", datetime(2016, 1, 1, tzinfo=UTC))
    single = {k: forged[k] for k in ("amount", "direction", "occurred_at")}
    return [single, {**single, "user_id": str(account.id)}, {"transactions": [forged]}, forged]


async def _probe_every_write(client: httpx.AsyncClient, account: Account) -> list[int]:
    spec = (await client.get("/openapi.json")).json()
    operations = [
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"post", "put", "patch", "delete"} and (method, path) not in NOT_PROBED
    ]
    operations += [(m, "/v1/transactions") for m in ("post", "put", "patch", "delete")]
    assert ("post", ledger.LEDGER_URL) in operations
    statuses = []
    for method, path in operations:
        url = path.replace("{decision_id}", str(uuid.uuid4()))
        url = url.replace("{notification_id}", str(uuid.uuid4()))
        for headers in (account.headers, {**account.headers, "X-Ledger-Key": account.token}):
            for body in _forgeries(account):
                response = await client.request(method, url, json=body, headers=headers)
                assert response.status_code < 500, (method, url, response.text)
                statuses.append(response.status_code)
                if path == ledger.LEDGER_URL:
                    assert response.status_code == 401, response.text
    return statuses


def _history(engine: Engine, user_id: uuid.UUID) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        rows = session.exec(select(Transaction).where(Transaction.user_id == user_id)).all()
        return sorted((t.ledger_id, t.amount, t.direction, t.occurred_at) for t in rows)


async def _financial_features(
    client: httpx.AsyncClient, engine: Engine, account: Account
) -> dict[str, Any]:
    response = await client.post(
        "/v1/credit-decisions", params={"wait": 20}, headers=account.headers
    )
    assert response.status_code in (200, 201), response.text
    assert response.json()["status"] == "OFFERED", response.text
    with Session(engine) as session:
        record = session.exec(
            select(DecisionRecord)
            .where(DecisionRecord.decision_id == uuid.UUID(response.json()["id"]))
            .order_by(col(DecisionRecord.id).desc())
        ).first()
    assert record is not None
    return {k: v for k, v in record.features.items() if k not in EMOTIONAL_FEATURES}


async def test_nothing_a_customer_sends_changes_its_financial_inputs(
    api_url: str, engine: Engine, customer: Account, other_customer: Account
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        await seed_good_history(client, customer)
        await seed_good_history(client, other_customer)  # the control: same history, no probing
        before = _history(engine, customer.id)

        statuses = await _probe_every_write(client, customer)

        assert _history(engine, customer.id) == before
        assert 405 in statuses and 401 in statuses
        probed = await _financial_features(client, engine, customer)
        control = await _financial_features(client, engine, other_customer)
    assert probed == control
    assert probed["inflow_90d"] == 15000.0  # three of the four seeded salaries
