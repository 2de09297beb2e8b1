"""HTTP model client against the real model server over real loopback HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from ecs.domain.features import Features
from ecs.risk.breaker import BreakerState, CircuitBreaker, CircuitOpen
from ecs.risk.http_client import HttpRiskModel
from ecs.risk.model import ModelUnavailable, RiskModel, RiskScore
from ecs.risk.scorecard import MODEL_VERSION, ScorecardModel
from ecs.risk.server import create_app

FEATURES = Features(
    inflow_30d=3000.0,
    outflow_30d=2500.0,
    net_cash_flow_30d=500.0,
    tx_count_30d=12,
    avg_ticket_30d=229.17,
    inflow_90d=9000.0,
    outflow_90d=8000.0,
    net_cash_flow_90d=1000.0,
    tx_count_90d=35,
    avg_ticket_90d=485.71,
    monthly_net_volatility_90d=410.0,
    account_age_days=420,
    credit_exposure=800.0,
    emotion_readings_7d=14,
    avg_positivity_7d=0.55,
    stress_events_30d=2,
    stress_trend=0.1,
    latest_stress=0.7,
    latest_positivity=0.4,
    latest_intensity=0.5,
)


class Server:
    """uvicorn in a background thread, on a socket bound before start (no port race)."""

    def __init__(self, model: RiskModel | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(create_app(model), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return
            threading.Event().wait(0.01)
        raise RuntimeError("model server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        assert not self.thread.is_alive()


@contextmanager
def serving(model: RiskModel | None = None) -> Iterator[Server]:
    server = Server(model)
    server.start()
    try:
        yield server
    finally:
        if server.thread.is_alive():
            server.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serving() as s:
        yield s


async def test_healthz(server: Server) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{server.url}/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "model_name": "scorecard", "model_version": MODEL_VERSION}


async def test_remote_score_equals_in_process_score(server: Server) -> None:
    async with HttpRiskModel(server.url + "/") as model:
        remote = await model.predict(FEATURES)
        again = await model.predict(FEATURES)
    assert remote == again == ScorecardModel().score(FEATURES)
    assert model.breaker.state is BreakerState.CLOSED


async def test_bad_request_body_is_422(server: Server) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{server.url}/v1/predict", json={"inflow_30d": "lots"})
    assert r.status_code == 422


class DownModel:
    name = "down"

    async def predict(self, features: Features) -> RiskScore:
        raise ModelUnavailable("weights not loaded")


class SlowModel:
    name = "slow"

    async def predict(self, features: Features) -> RiskScore:
        await asyncio.sleep(1)  # poll: a remote model slower than the client's timeout
        return ScorecardModel().score(features)


async def test_server_side_unavailability_is_503_problem_and_client_error() -> None:
    with serving(DownModel()) as s:
        async with httpx.AsyncClient() as client:
            r = await client.post(f"{s.url}/v1/predict", json=FEATURES.model_dump(mode="json"))
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 503
        async with HttpRiskModel(s.url) as model:
            with pytest.raises(ModelUnavailable, match="503"):
                await model.predict(FEATURES)


async def test_timeout_is_model_unavailable() -> None:
    with serving(SlowModel()) as s:
        async with HttpRiskModel(s.url, timeout=0.2) as model:
            with pytest.raises(ModelUnavailable, match="unreachable"):
                await model.predict(FEATURES)
            assert model.breaker.consecutive_failures == 1


async def test_stopped_server_gives_model_unavailable_and_opens_the_breaker() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60.0)
    with serving() as s:
        async with HttpRiskModel(s.url, timeout=1.0, breaker=breaker) as model:
            assert (await model.predict(FEATURES)).model_version == MODEL_VERSION
            s.stop()
            for _ in range(2):
                with pytest.raises(ModelUnavailable) as info:
                    await model.predict(FEATURES)
                assert not isinstance(info.value, CircuitOpen)
            assert breaker.state is BreakerState.OPEN
            with pytest.raises(CircuitOpen):
                await model.predict(FEATURES)


async def test_invalid_response_body_is_model_unavailable() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"score": 7}))
    async with httpx.AsyncClient(transport=transport) as client:
        model = HttpRiskModel("http://model.invalid", client=client)
        with pytest.raises(ModelUnavailable, match="invalid RiskScore"):
            await model.predict(FEATURES)
        await model.aclose()  # borrowed client: must stay usable
        assert not client.is_closed
