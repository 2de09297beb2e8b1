"""Readings reaching open credit decisions as coalesced Temporal signals."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from ecs.contracts import QUERY_STATUS, DecisionView, EmotionSignal, workflow_id_for
from ecs.domain.emotions import CoolingOffThresholds
from ecs.domain.status import DecisionStatus
from ecs.settings import Settings
from ecs.stream.consumer import StreamConsumer, thresholds_from
from ecs.stream.signaller import Signaller, to_signal
from tests import ledger
from tests.stream.helpers import reading
from tests.support import ManualClock, async_wait_for


class FakeHandle:
    def __init__(self, sink: list[tuple[str, EmotionSignal]], workflow_id: str) -> None:
        self.sink, self.workflow_id = sink, workflow_id

    async def signal(self, name: str, arg: EmotionSignal) -> None:
        self.sink.append((self.workflow_id, arg))


class FakeClient:
    def __init__(self) -> None:
        self.sent: list[tuple[str, EmotionSignal]] = []

    def get_workflow_handle(self, workflow_id: str) -> FakeHandle:
        return FakeHandle(self.sent, workflow_id)


@pytest.fixture
async def fake_signaller() -> AsyncIterator[tuple[Signaller, FakeClient]]:
    client = FakeClient()

    async def factory() -> Any:
        return client

    signaller = Signaller(factory, CoolingOffThresholds(), interval_ms=300)
    signaller.start()
    yield signaller, client
    await signaller.close()


async def test_coalescing_keeps_distress_over_later_calm_readings(
    fake_signaller: tuple[Signaller, FakeClient],
) -> None:
    signaller, client = fake_signaller
    user, other, no_decision = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    open_workflows = {user: "wf-user", other: "wf-other"}
    first = reading(user, stress=0.1, intensity=0.2)
    signaller.offer([first], open_workflows)  # sent at once: nothing sent recently
    await async_wait_for(lambda: _sent(client, 1), timeout=2)

    now = datetime.now(UTC)
    distress = reading(user, stress=0.95, intensity=0.9, occurred_at=now - timedelta(seconds=2))
    worse = reading(user, stress=0.97, intensity=0.9, occurred_at=now - timedelta(seconds=3))
    calm_after = reading(user, stress=0.1, intensity=0.1, occurred_at=now)
    calm_other = [
        reading(other, stress=0.2, occurred_at=now - timedelta(seconds=s)) for s in (3, 1)
    ]
    counted = signaller.offer(
        [distress, calm_after, worse, *calm_other, reading(no_decision)], open_workflows
    )
    assert counted == 5
    await async_wait_for(lambda: _sent(client, 3), timeout=2)
    assert signaller.pending == 0  # the batch coalesced into these signals: nothing else queued
    assert len(client.sent) == 3
    by_workflow = {wf: sig.event_id for wf, sig in client.sent[1:]}
    assert by_workflow == {"wf-user": str(worse.event_id), "wf-other": str(calm_other[1].event_id)}


async def _sent(client: FakeClient, n: int) -> bool:
    return len(client.sent) >= n


async def test_signals_are_at_most_one_per_interval_per_user() -> None:
    clock = ManualClock()
    client = FakeClient()
    signaller = Signaller(_factory(client), CoolingOffThresholds(), interval_ms=250, clock=clock)
    signaller.start()
    try:
        user = uuid.uuid4()
        signaller.offer([reading(user, stress=0.3)], {user: "wf"})
        await async_wait_for(lambda: _sent(client, 1), timeout=2)
        start = datetime.now(UTC)
        for i in range(3):  # readings 62.5 ms apart, inside the interval: coalesced, held
            clock.advance(0.0625)
            at = start + timedelta(seconds=i)
            signaller.offer([reading(user, stress=0.3, occurred_at=at)], {user: "wf"})
            assert signaller.pending == 1
        clock.advance(0.0625)  # 250 ms after the first signal: the interval is over
        latest = reading(user, stress=0.3, occurred_at=start + timedelta(seconds=3))
        signaller.offer([latest], {user: "wf"})
        await async_wait_for(lambda: _sent(client, 2), timeout=2)
        assert client.sent[1] == ("wf", to_signal(latest))
        assert signaller.pending == 0
    finally:
        await signaller.close(timeout=0.1)


async def test_a_user_never_signalled_is_due_at_once_on_a_freshly_booted_host() -> None:
    """Monotonic time is uptime: seconds after boot, "never signalled" must not read as
    "signalled at time 0", or every user's first reading waits for the interval."""
    client = FakeClient()
    signaller = Signaller(
        _factory(client),
        CoolingOffThresholds(),
        interval_ms=50,
        routine_interval_s=60,
        clock=ManualClock(start=3.0),
    )
    signaller.start()
    try:
        user = uuid.uuid4()
        first = reading(user, stress=0.2)
        signaller.offer([first], {user: "wf"})
        await async_wait_for(lambda: _sent(client, 1), timeout=2, message="the first signal")
        assert client.sent == [("wf", to_signal(first))]
    finally:
        await signaller.close(timeout=0.1)


def _factory(client: FakeClient) -> Callable[[], Awaitable[Any]]:
    async def factory() -> Any:
        return client

    return factory


async def _register(http: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    email, password = f"cool-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery"
    created = await http.post(
        "/v1/auth/register",
        json={"email": email, "password": password, "consent_emotion_processing": True},
    )
    assert created.status_code == 201, created.text
    token = await http.post("/v1/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    return created.json()["id"], {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _status(client: Client, workflow_id: str) -> DecisionView:
    handle = client.get_workflow_handle(workflow_id)
    return await handle.query(QUERY_STATUS, result_type=DecisionView)


async def test_distress_reading_puts_an_open_decision_into_cooling_off(
    api_url: str,
    settings: Settings,
    engine: Engine,
    worker: Worker,
    temporal_client: Client,
    redis_url: str,
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        user_id, headers = await _register(http)
        await ledger.feed(
            http,
            [
                ledger.entry(user_id, str(amount), direction, datetime.now(UTC) - timedelta(days=d))
                for d in range(1, 60, 3)
                for amount, direction in ((Decimal("4200.00"), "in"), (Decimal("900.00"), "out"))
            ],
        )
        decision = await http.post("/v1/credit-decisions?wait=10", headers=headers)
        assert decision.status_code in (200, 201, 202), decision.text
        workflow_id = workflow_id_for(decision.json()["id"])
        view = await _status(temporal_client, workflow_id)
        assert view.status in (DecisionStatus.PENDING, DecisionStatus.OFFERED), view

        redis_client = aioredis.Redis.from_url(redis_url)

        async def the_client() -> Client:
            return temporal_client

        signaller = Signaller(
            the_client,
            thresholds_from(settings),
            settings.stream_signal_interval_ms,
        )
        consumer = StreamConsumer(
            settings, redis_client, engine, name="signals-test", signaller=signaller, block_ms=200
        )
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            event_id = str(uuid.uuid4())
            posted = time.monotonic()
            response = await http.post(
                "/v1/emotions",
                json={
                    "event_id": event_id,
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "kind": "fear",
                    "metrics": {"positivity": 0.05, "intensity": 0.9, "stress": 0.95},
                },
                headers=headers,
            )
            assert response.status_code == 202, response.text

            async def cooling() -> DecisionView | None:
                view = await _status(temporal_client, workflow_id)
                return view if view.status is DecisionStatus.COOLING_OFF else None

            view = await async_wait_for(cooling, timeout=15, message="COOLING_OFF")
            latency = time.monotonic() - posted
            assert view.last_emotion_event_id == event_id
            assert view.cooling_off_until is not None
            assert latency < 5, latency
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
            await redis_client.aclose()


async def test_routine_readings_are_rate_limited_but_urgent_ones_are_not() -> None:
    """Calm readings to an open offer refresh the decision rarely (bounded history); distress,
    and any reading during a pause, goes at the short interval."""
    clock = ManualClock()
    client = FakeClient()
    signaller = Signaller(
        _factory(client),
        CoolingOffThresholds(),
        interval_ms=50,
        routine_interval_s=3600,
        clock=clock,
    )
    signaller.start()
    try:
        calm_user, paused_user = uuid.uuid4(), uuid.uuid4()
        workflows = {calm_user: "wf-calm", paused_user: "wf-paused"}
        signaller.offer(
            [reading(calm_user, stress=0.2), reading(paused_user, stress=0.2)], workflows
        )
        await async_wait_for(lambda: _sent(client, 2), timeout=2)  # first ones go at once

        clock.advance(0.05)
        routine = reading(calm_user, stress=0.3)
        ending_pause = reading(paused_user, stress=0.1)
        signaller.offer([routine, ending_pause], workflows, cooling_off={paused_user})
        await async_wait_for(lambda: _sent(client, 3), timeout=2)
        assert client.sent[2] == ("wf-paused", to_signal(ending_pause))
        assert signaller.pending == 1  # the routine reading waits for its hour

        clock.advance(0.05)
        distress = reading(calm_user, stress=0.95, intensity=0.9)
        signaller.offer([distress], workflows)  # beats the pending routine reading, and is urgent
        await async_wait_for(lambda: _sent(client, 4), timeout=2)
        assert client.sent[3] == ("wf-calm", to_signal(distress))
        assert [wf for wf, _ in client.sent].count("wf-calm") == 2  # the routine one never went

        now = datetime.now(UTC)
        later = reading(calm_user, stress=0.3, occurred_at=now)
        signaller.offer([later], workflows)
        assert signaller.pending == 1
        clock.advance(3600)  # an hour after the last signal a routine refresh is due again
        latest = reading(calm_user, stress=0.25, occurred_at=now + timedelta(seconds=1))
        signaller.offer([latest], workflows)
        await async_wait_for(lambda: _sent(client, 5), timeout=2)
        assert client.sent[4] == ("wf-calm", to_signal(latest))
    finally:
        await signaller.close(timeout=0.1)
