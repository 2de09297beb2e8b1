"""Every route that takes an id, called by its owner, another customer, an analyst and nobody.

One rule, checked as a table: another customer's resources do not exist for you (404, never a
2xx that leaks or acts), analyst routes refuse customers (403), and no token is a 401. A test
also checks the table covers every documented route with a path parameter, so a new one cannot
be added without saying who may call it.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import Engine

from api.main import create_app
from ecs.settings import Environment, Settings
from tests.api.conftest import Account, make_analyst, register_and_login, seed_good_history
from tests.support import async_wait_for

# (method, path template) -> the statuses each caller may get; "owner" acts on its own resource.
MATRIX: dict[tuple[str, str], dict[str, set[int]]] = {
    ("GET", "/v1/credit-decisions/{decision_id}"): {
        "owner": {200},
        "other": {404},
        "analyst": {404},
        "nobody": {401},
    },
    ("POST", "/v1/credit-decisions/{decision_id}/decline"): {
        "other": {404},
        "analyst": {404},
        "nobody": {401},
    },
    ("POST", "/v1/credit-decisions/{decision_id}/accept"): {
        "other": {404},
        "analyst": {404},
        "nobody": {401},
    },
    ("POST", "/v1/credit-decisions/{decision_id}/contest"): {
        "other": {404},
        "analyst": {404},
        "nobody": {401},
    },
    ("POST", "/v1/reviews/{decision_id}"): {
        "owner": {403},
        "other": {403},
        "nobody": {401},
    },
    ("GET", "/v1/reviews/{decision_id}"): {
        "owner": {403},
        "other": {403},
        "analyst": {200},
        "nobody": {401},
    },
    # Nothing waits for a second analyst: the analyst's confirmation is refused, never applied.
    ("POST", "/v1/reviews/{decision_id}/confirm"): {
        "owner": {403},
        "other": {403},
        "analyst": {409},
        "nobody": {401},
    },
    ("POST", "/v1/me/notifications/{notification_id}/read"): {
        "owner": {200, 204},
        "other": {404},
        "analyst": {404},
        "nobody": {401},
    },
    # A customer's credit line is keyed by the customer's id; nothing is offered yet, so the
    # owner's accept is a 409, never a 2xx.
    ("GET", "/v1/me/credit-lines/{account_id}/changes"): {
        "owner": {200},
        "other": {404},
        "analyst": {404},
        "nobody": {401},
    },
    ("POST", "/v1/me/credit-lines/{account_id}/increase/accept"): {
        "owner": {409},
        "other": {404},
        "analyst": {404},
        "nobody": {401},
    },
}


_BODIES: dict[str, dict[str, object]] = {
    "contest": {"reason": "matrix"},
    "confirm": {"confirm": True, "comment": "matrix"},
}


def test_the_matrix_covers_every_route_with_an_id() -> None:
    paths = create_app(Settings(env=Environment.TEST)).openapi()["paths"]
    documented = {
        (method.upper(), path) for path, ops in paths.items() if "{" in path for method in ops
    }
    assert documented == set(MATRIX)


@pytest.mark.usefixtures("worker")
async def test_nobody_but_the_owner_reaches_a_resource(api_url: str, engine: Engine) -> None:
    owner = register_and_login(api_url, prefix="owner")
    callers: dict[str, Account | None] = {
        "owner": owner,
        "other": register_and_login(api_url, prefix="other"),
        "analyst": make_analyst(api_url, engine),
        "nobody": None,
    }
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        await seed_good_history(client, owner)
        decided = await client.post("/v1/credit-decisions?wait=15", headers=owner.headers)
        assert decided.status_code in (200, 201), decided.text
        ids = {"decision_id": decided.json()["id"], "account_id": str(owner.id)}

        async def first_notification() -> str | None:  # the notify activity runs after the offer
            inbox = await client.get("/v1/me/notifications", headers=owner.headers)
            items = inbox.json()["items"]
            return str(items[0]["id"]) if items else None

        ids["notification_id"] = await async_wait_for(first_notification, timeout=15)

        seen: list[str] = []
        # The owner's own calls come last, so nobody else's call meets an already-settled offer.
        for who in ("nobody", "other", "analyst", "owner"):
            account = callers[who]
            headers = account.headers if account else {}
            for (method, template), allowed in MATRIX.items():
                if who not in allowed:
                    continue
                path = template.format(**ids)
                body = _BODIES.get(template.rsplit("/", 1)[-1])
                if body is None and template.startswith("/v1/reviews") and method == "POST":
                    body = {"approve": False, "comment": "matrix"}
                response = await client.request(method, path, headers=headers, json=body)
                seen.append(f"{who} {method} {template} -> {response.status_code}")
                assert response.status_code in allowed[who], seen[-1] + " " + response.text
                if response.status_code >= 400:
                    assert response.headers["content-type"].startswith("application/problem")
        # A random id is as unknown as another customer's.
        unknown = await client.get(f"/v1/credit-decisions/{uuid.uuid4()}", headers=owner.headers)
        assert unknown.status_code == 404
