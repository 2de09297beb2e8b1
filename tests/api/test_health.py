from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from ecs.embedded_redis import start_redis
from ecs.settings import Settings
from tests.support import free_port


def test_healthz_is_alive(api_url: str) -> None:
    response = httpx.get(f"{api_url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_request_id_is_echoed_or_generated(api_url: str) -> None:
    given = httpx.get(f"{api_url}/healthz", headers={"X-Request-ID": "req-123"})
    assert given.headers["x-request-id"] == "req-123"
    generated = httpx.get(f"{api_url}/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] not in ("", "bad id with spaces")


def test_readyz_ok_when_all_dependencies_are_up(api_url: str) -> None:
    response = httpx.get(f"{api_url}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "temporal": "ok"}


def test_unknown_route_is_a_problem_body(api_url: str) -> None:
    response = httpx.get(f"{api_url}/nope", headers={"X-Request-ID": "r-404"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["request_id"] == "r-404" and body["instance"] == "/nope"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, object]]:
    port = free_port()
    process = start_redis(port, tmp_path, persist=False)
    yield f"redis://127.0.0.1:{port}/0", process
    if process.poll() is None:
        process.kill()


def test_readyz_503_names_the_stopped_dependency(
    settings: Settings, own_redis: tuple[str, object]
) -> None:
    url, process = own_redis
    app = create_app(settings.model_copy(update={"redis_url": url}))
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        process.terminate()  # type: ignore[attr-defined]
        process.wait(timeout=10)  # type: ignore[attr-defined]
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["down"] == ["redis"]
    assert body["checks"]["database"] == "ok" and body["checks"]["temporal"] == "ok"


def test_readyz_503_when_temporal_is_unreachable(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"}))
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["temporal"]
