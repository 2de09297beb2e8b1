"""Reading one decision both ways: live from its workflow and stored from the database.

Shared by the view-equality tests (REFERRED needs the down-model worker of ``test_reviews``).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client

from api.schemas.credit import DecisionPublic
from ecs.credit import engine as temporal
from ecs.credit import queries, views
from tests.api.conftest import Account

# ``source`` says which side answered, and ``updated_at`` is when that side last changed: the
# only two fields allowed to differ.
PER_SOURCE = ("source", "updated_at")


async def live_view(client: Client, db: Engine, decision_id: str) -> dict[str, Any]:
    """The workflow's own view through the API's live mapping (a closed workflow answers
    queries too, so DENIED and ACTIVE can be read live after the fact)."""
    decision = queries.load_decision(db, uuid.UUID(decision_id), None)
    view = await temporal.query(client, decision.workflow_id, open_only=False)
    assert view is not None, f"no live view of {decision_id}"
    public = DecisionPublic.model_validate(views.from_workflow(decision, view))
    assert public.source == "workflow"
    return public.model_dump(mode="json")


async def stored_view(
    http: httpx.AsyncClient, account: Account, decision_id: str
) -> dict[str, Any]:
    """The decision as the listing (a database read) shows it."""
    response = await http.get(
        "/v1/credit-decisions", params={"limit": 200}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    found = [d for d in response.json()["items"] if d["id"] == decision_id]
    assert found, f"{decision_id} not listed"
    assert found[0]["source"] == "database"
    item: dict[str, Any] = found[0]
    return item


def assert_same_view(live: dict[str, Any], stored: dict[str, Any]) -> None:
    """Equal field by field, except the fields that name their source."""
    assert live.keys() == stored.keys()
    different = {
        name: (live[name], stored[name])
        for name in live
        if name not in PER_SOURCE and live[name] != stored[name]
    }
    assert not different, f"live and stored views differ (live, stored): {different}"
