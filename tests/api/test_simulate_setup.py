"""``ecs simulate`` sets its users up the way production does: history from the ledger feed."""

from __future__ import annotations

import random
import uuid

import httpx

from ecs.settings import Settings
from ecs.simulate import _setup_user


async def test_simulated_users_get_their_history_from_the_ledger(
    api_url: str, settings: Settings
) -> None:
    ledger_headers = {"X-Ledger-Key": settings.ledger_key.get_secret_value()}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        run_id = uuid.uuid4().hex[:8]
        user = await _setup_user(http, ledger_headers, run_id, 0, random.Random(7))
        history = await http.get("/v1/transactions", headers=user.headers)
        assert history.status_code == 200, history.text
        items = history.json()["items"]
        assert len(items) == 9 and {t["currency"] for t in items} == {"BRL"}
        assert {t["description"] for t in items} == {"salary", "rent", "groceries"}
