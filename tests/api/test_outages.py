"""Issue 9 (2): a dependency outage is a 503 with Retry-After on every route, never a 500, and
every 5xx names its request.

The database test stops a PostgreSQL cluster of its own (``private_postgres``; never the shared
server) under a running API, calls every ``/v1`` route, and starts the cluster again: each
answer is a problem with ``Retry-After`` and a ``request_id`` equal to the ``X-Request-ID``
header, and the API serves again once the database is back, without a restart.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.main import create_app
from ecs.accounts.users import create_user
from ecs.db.engine import make_engine
from ecs.db.migrate import upgrade
from ecs.domain.status import Role
from ecs.settings import Settings
from tests.api.conftest import PASSWORD, unique_email
from tests.api.private_postgres import PrivateCluster, private_cluster
from tests.ledger import LEDGER_HEADERS

# The ingest firehose may acknowledge from its caches (the reading is durable in the stream and
# stored once the database is back); everything else needs the database for every request.
MAY_ANSWER_FROM_CACHE = {("POST", "/v1/emotions"): 202}


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    with private_cluster() as running:
        yield running


def _v1_calls(app: FastAPI, customer_id: str) -> list[tuple[str, str]]:
    """(method, path) of every documented ``/v1`` route, path parameters filled with ids.

    A credit line is keyed by its customer's id: another id is a 404 without asking the
    database, so the customer's own id is used there, making the route need the database."""
    calls: list[tuple[str, str]] = []

    def fill(match: re.Match[str]) -> str:
        return customer_id if match.group(0) == "{account_id}" else str(uuid.uuid4())

    for template, operations in app.openapi()["paths"].items():
        if template.startswith("/v1"):
            path = re.sub(r"\{[^}]+\}", fill, template)
            calls.extend((method.upper(), path) for method in operations)
    return sorted(calls)


def _body(method: str, path: str) -> dict[str, object]:
    """A valid body where one is required: a bad one is a 422 whatever the database does."""
    now = datetime.now(UTC).isoformat()
    bodies: dict[tuple[str, str], dict[str, object]] = {
        ("DELETE", "/v1/me"): {"password": PASSWORD},
        ("PUT", "/v1/me/proactive-offers"): {"receive": False},
        ("POST", "/v1/ledger/transactions"): {
            "transactions": [
                {
                    "ledger_id": f"tx-{uuid.uuid4().hex}",
                    "user_id": str(uuid.uuid4()),
                    "amount": "10.00",
                    "currency": "BRL",
                    "direction": "in",
                    "occurred_at": now,
                }
            ]
        },
        ("POST", "/v1/emotions"): {
            "readings": [
                {
                    "occurred_at": now,
                    "kind": "joy",
                    "metrics": {"stress": 0.1, "intensity": 0.2, "positivity": 0.7},
                }
            ]
        },
        ("PUT", "/v1/me/consent"): {"consent_emotion_processing": False},
    }
    if path.endswith("/contest"):
        return {"reason": "database is down"}
    if path.endswith("/confirm"):
        return {"confirm": True, "comment": "database is down"}
    if path.startswith("/v1/reviews/"):
        return {"approve": False, "comment": "database is down"}
    return bodies.get((method, path), {})


def _analyst_token(api: TestClient, database_url: str) -> str:
    """Analysts cannot self-register; one is created the way the ``ecs`` CLI does it."""
    email = unique_email("analyst")
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            create_user(session, email, PASSWORD, Role.ANALYST)
    finally:
        engine.dispose()
    token: str = api.post("/v1/auth/token", data={"username": email, "password": PASSWORD}).json()[
        "access_token"
    ]
    return token


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["status"] == 503 and body["request_id"]
    assert response.headers["x-request-id"] == body["request_id"]


def test_database_outage_is_503_with_retry_after_on_every_route(
    cluster: PrivateCluster, settings: Settings
) -> None:
    upgrade(cluster.url)
    private = settings.model_copy(update={"database_url": cluster.url})
    app = create_app(private)
    with TestClient(app, raise_server_exceptions=False) as api:
        email = unique_email()
        credentials = {"email": email, "password": PASSWORD, "consent_emotion_processing": True}
        registered = api.post("/v1/auth/register", json=credentials)
        assert registered.status_code == 201
        login = {"username": email, "password": PASSWORD}
        token = api.post("/v1/auth/token", data=login).json()["access_token"]
        customer = {"Authorization": f"Bearer {token}"}
        analyst = {"Authorization": f"Bearer {_analyst_token(api, cluster.url)}"}
        assert api.get("/v1/credit-decisions", headers=customer).status_code == 200

        cluster.stop()
        calls = _v1_calls(app, registered.json()["id"])
        assert len(calls) >= 15, calls
        seen: dict[tuple[str, str], int] = {}
        for method, path in calls:
            if path.startswith("/v1/auth/"):
                continue  # below: they take no token
            who = analyst if path.startswith(("/v1/reviews", "/v1/insights")) else customer
            if path.startswith("/v1/ledger/"):
                who = LEDGER_HEADERS  # the ledger feed authenticates as a service
            response = api.request(method, path, headers=who, json=_body(method, path))
            seen[(method, path)] = response.status_code
            if response.status_code == MAY_ANSWER_FROM_CACHE.get((method, path)):
                continue
            assert_unavailable(response)
        # Routes nobody is logged in for need the database as much.
        assert_unavailable(
            api.post("/v1/auth/register", json={**credentials, "email": unique_email()})
        )
        assert_unavailable(api.post("/v1/auth/token", data=login))
        print(f"database down: {len(seen)} calls, statuses {sorted(set(seen.values()))}")

        cluster.start()
        assert api.get("/v1/credit-decisions", headers=customer).status_code == 200


def test_an_unexpected_error_is_a_500_problem_with_the_request_id(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/v1/test-only/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as api:
        response = api.get("/v1/test-only/boom")
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["request_id"] and response.headers["x-request-id"] == body["request_id"]
        assert "a bug" not in response.text  # the details go to the log, not to the client

        echoed = api.get("/v1/test-only/boom", headers={"X-Request-ID": "trace-123"})
        assert echoed.headers["x-request-id"] == "trace-123"
        assert echoed.json()["request_id"] == "trace-123"
