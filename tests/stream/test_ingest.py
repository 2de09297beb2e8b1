"""POST /v1/emotions against the real app (uvicorn, real Redis, real database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from api.main import create_app
from ecs.accounts.tokens import create_access_token
from ecs.domain.status import Role
from ecs.embedded_redis import start_redis
from ecs.settings import Settings
from ecs.stream.messages import decode_entry
from tests.stream.helpers import USERS, make_users
from tests.support import ManualClock, free_port


def body(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "kind": "stress",
        "metrics": {"positivity": 0.2, "intensity": 0.7, "stress": 0.9},
        "context": {"screen": "loans"},
    }
    item.update(overrides)
    return item


def auth(
    engine: Engine, settings: Settings, *, consent: bool = True
) -> tuple[uuid.UUID, dict[str, str]]:
    (user_id,) = make_users(engine, 1, consent=consent)
    token = create_access_token(user_id, Role.CUSTOMER, settings)
    return user_id, {"Authorization": f"Bearer {token}"}


def stream_readings(settings: Settings, event_ids: set[str]) -> list[dict[str, Any]]:
    """Entries of the app's stream that carry the given event ids, decoded."""
    client = redis.Redis.from_url(settings.effective_redis_url)
    try:
        found = []
        for _id, fields in client.xrange(settings.stream_name):
            for r in decode_entry(fields):
                if str(r.event_id) in event_ids:
                    found.append(r.to_wire())
        return found
    finally:
        client.close()


def test_single_reading_is_accepted_into_the_stream(
    api_url: str, engine: Engine, settings: Settings
) -> None:
    user_id, headers = auth(engine, settings)
    reading = body()
    response = httpx.post(f"{api_url}/v1/emotions", json=reading, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 1, "event_ids": [reading["event_id"]]}
    (stored,) = stream_readings(settings, {reading["event_id"]})
    assert stored["user_id"] == str(user_id)
    assert stored["stress"] == 0.9 and stored["kind"] == "stress"
    assert stored["context"] == {"screen": "loans"}


def test_batch_is_accepted_and_missing_event_ids_are_generated(
    api_url: str, engine: Engine, settings: Settings
) -> None:
    _user_id, headers = auth(engine, settings)
    readings = [body() for _ in range(20)]
    del readings[5]["event_id"]
    response = httpx.post(f"{api_url}/v1/emotions", json={"readings": readings}, headers=headers)
    assert response.status_code == 202, response.text
    result = response.json()
    assert result["accepted"] == 20 and len(set(result["event_ids"])) == 20
    assert result["event_ids"][0] == readings[0]["event_id"]
    uuid.UUID(result["event_ids"][5])  # generated
    assert len(stream_readings(settings, set(result["event_ids"]))) == 20


def test_invalid_items_are_named_by_index(api_url: str, engine: Engine, settings: Settings) -> None:
    _user_id, headers = auth(engine, settings)
    readings = [body() for _ in range(6)]
    readings[1]["metrics"]["stress"] = 1.5
    readings[3]["occurred_at"] = "2026-01-01T10:00:00"  # no timezone
    readings[4]["kind"] = "bored"
    readings[5]["occurred_at"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    response = httpx.post(f"{api_url}/v1/emotions", json={"readings": readings}, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    by_index = {e["index"]: e["field"] for e in errors}
    assert by_index == {1: "metrics.stress", 3: "occurred_at", 4: "kind", 5: "occurred_at"}
    assert not stream_readings(settings, {r["event_id"] for r in readings})


@pytest.mark.parametrize(
    "payload",
    [
        {"readings": []},
        {"readings": [body() for _ in range(1001)]},
        {"readings": [body()], "extra": 1},
        [body()],
    ],
    ids=["empty", "too-many", "unknown-key", "bare-list"],
)
def test_malformed_bodies_are_422(
    api_url: str, engine: Engine, settings: Settings, payload: Any
) -> None:
    _user_id, headers = auth(engine, settings)
    response = httpx.post(f"{api_url}/v1/emotions", json=payload, headers=headers)
    assert response.status_code == 422, response.text


def test_metrics_are_json_numbers_never_coerced(
    api_url: str, engine: Engine, settings: Settings
) -> None:
    """``true`` read as 1.0 would be acute distress; a string is a client bug, not a number."""
    _user_id, headers = auth(engine, settings)
    readings = [body() for _ in range(4)]
    readings[0]["metrics"]["stress"] = True
    readings[1]["metrics"]["intensity"] = "0.9"
    readings[2]["metrics"]["positivity"] = None
    readings[3]["metrics"]["stress"] = 1  # an integer is a number: accepted
    response = httpx.post(f"{api_url}/v1/emotions", json={"readings": readings}, headers=headers)
    assert response.status_code == 422, response.text
    fields = {e["index"]: e["field"] for e in response.json()["errors"]}
    assert fields == {0: "metrics.stress", 1: "metrics.intensity", 2: "metrics.positivity"}


def test_old_readings_and_oversized_context_are_refused(
    api_url: str, engine: Engine, settings: Settings
) -> None:
    _user_id, headers = auth(engine, settings)
    old = body(occurred_at=(datetime.now(UTC) - timedelta(days=8)).isoformat())
    big = body(context={f"k{i}": "x" * 200 for i in range(10)})
    response = httpx.post(f"{api_url}/v1/emotions", json={"readings": [old, big]}, headers=headers)
    assert response.status_code == 422
    assert {e["index"] for e in response.json()["errors"]} == {0, 1}


def test_unauthenticated_is_401(api_url: str) -> None:
    response = httpx.post(f"{api_url}/v1/emotions", json=body(user_id=str(uuid.uuid4())))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    bad_key = httpx.post(
        f"{api_url}/v1/emotions", json=body(user_id=str(uuid.uuid4())), headers={"X-API-Key": "no"}
    )
    assert bad_key.status_code == 401


def test_ingest_service_with_api_key(api_url: str, engine: Engine, settings: Settings) -> None:
    users = make_users(engine, 3)
    key = {"X-API-Key": settings.ingest_api_key.get_secret_value()}
    readings = [body(user_id=str(u)) for u in users]
    response = httpx.post(f"{api_url}/v1/emotions", json={"readings": readings}, headers=key)
    assert response.status_code == 202, response.text
    stored = stream_readings(settings, {r["event_id"] for r in readings})
    assert {s["user_id"] for s in stored} == {str(u) for u in users}

    without_user = [body(user_id=str(users[0])), body()]
    response = httpx.post(f"{api_url}/v1/emotions", json={"readings": without_user}, headers=key)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"index": 1, "field": "user_id", "msg": "required with the ingest API key"}
    ]
    unknown = httpx.post(
        f"{api_url}/v1/emotions", json=body(user_id=str(uuid.uuid4())), headers=key
    )
    assert unknown.status_code == 403


def test_reading_for_another_user_is_403(api_url: str, engine: Engine, settings: Settings) -> None:
    user_id, headers = auth(engine, settings)
    other = uuid.uuid4()
    readings = [body(user_id=str(user_id)), body(user_id=str(other)), body()]
    response = httpx.post(f"{api_url}/v1/emotions", json={"readings": readings}, headers=headers)
    assert response.status_code == 403
    assert [e["index"] for e in response.json()["errors"]] == [1]
    assert not stream_readings(settings, {r["event_id"] for r in readings})


def test_withdrawn_consent_is_403(api_url: str, engine: Engine, settings: Settings) -> None:
    _user, headers = auth(engine, settings, consent=False)
    response = httpx.post(f"{api_url}/v1/emotions", json=body(), headers=headers)
    assert response.status_code == 403
    assert response.json()["type"].endswith("consent-required")


def test_consent_withdrawal_applies_after_the_cache_ttl(settings: Settings, engine: Engine) -> None:
    """A withdrawal made elsewhere (here: straight in the database) reaches ingest by the TTL."""
    user_id, headers = auth(engine, settings)
    app = create_app(settings)
    clock = ManualClock()
    with TestClient(app) as client:
        cache = app.state.resources.caches.consent
        cache.clock = clock
        assert client.post("/v1/emotions", json=body(), headers=headers).status_code == 202
        with engine.begin() as conn:
            conn.execute(
                update(USERS).where(USERS.c.id == user_id).values(consent_emotion_processing=False)
            )
        assert client.post("/v1/emotions", json=body(), headers=headers).status_code == 202
        clock.advance(cache.ttl * cache.MAX_STALENESS * 1.3)  # past the jittered staleness bound
        assert client.post("/v1/emotions", json=body(), headers=headers).status_code == 403


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, Popen[bytes]]]:
    port = free_port()
    process = start_redis(port, tmp_path, persist=False)
    yield f"redis://127.0.0.1:{port}/0", process
    if process.poll() is None:
        process.kill()


def test_redis_down_is_503_with_retry_after(
    settings: Settings, engine: Engine, own_redis: tuple[str, Popen[bytes]]
) -> None:
    url, process = own_redis
    _user, headers = auth(engine, settings)
    app = create_app(settings.model_copy(update={"redis_url": url}))
    with TestClient(app) as client:
        assert client.post("/v1/emotions", json=body(), headers=headers).status_code == 202
        process.terminate()
        process.wait(timeout=10)
        response = client.post("/v1/emotions", json=body(), headers=headers)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["type"].endswith("stream-unavailable")


def test_invalid_or_expired_tokens_are_401_even_after_a_valid_one(
    api_url: str, engine: Engine, settings: Settings
) -> None:
    user_id, headers = auth(engine, settings)
    assert httpx.post(f"{api_url}/v1/emotions", json=body(), headers=headers).status_code == 202
    expired = create_access_token(
        user_id, Role.CUSTOMER, settings.model_copy(update={"jwt_ttl_seconds": -1})
    )
    for token in (expired, headers["Authorization"].split()[1] + "x", "garbage"):
        response = httpx.post(
            f"{api_url}/v1/emotions", json=body(), headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token


def test_openapi_documents_both_body_shapes(api_url: str) -> None:
    spec = httpx.get(f"{api_url}/openapi.json").json()
    operation = spec["paths"]["/v1/emotions"]["post"]
    shapes = operation["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert {"readings"} <= set(shapes[1]["properties"])
    assert any(p["name"] == "X-API-Key" for p in operation["parameters"])


def test_fast_path_and_documented_route_share_one_handler() -> None:
    """The Starlette fast path must serve exactly what OpenAPI documents."""
    from fastapi.routing import APIRoute
    from starlette.routing import Route

    from api.main import INGEST_PATH, create_app
    from api.routes.emotions import ingest_emotions

    app = create_app()
    first, second = app.router.routes[0], app.router.routes[1]
    assert isinstance(first, Route) and not isinstance(first, APIRoute)
    assert isinstance(second, APIRoute)
    assert first.path == second.path == INGEST_PATH
    assert first.endpoint is second.endpoint is ingest_emotions
    assert INGEST_PATH in app.openapi()["paths"]
