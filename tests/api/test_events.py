"""``GET /v1/me/events`` over real HTTP: live across API instances, resumable, bounded.

Notifications are written the way the ``notify`` activity writes them (``inbox.append`` then a
publish on the Redis channel) or by a real credit decision on the worker; clients connect to
other API instances than the one that started the decision.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine

from ecs.notifications import inbox
from ecs.notifications.events import InboxEvent, RedisEventPublisher
from ecs.settings import Settings
from tests.api.conftest import Account, assert_problem, seed_good_history, serve_api
from tests.api.sse import open_events
from tests.support import async_wait_for


@pytest.fixture(scope="module")
def two_instances(settings: Settings) -> Iterator[tuple[str, str]]:
    with serve_api(settings) as first, serve_api(settings) as second:
        yield first, second


@pytest.fixture
def publisher(settings: Settings) -> RedisEventPublisher:
    return RedisEventPublisher.from_url(settings.effective_redis_url, settings.events_channel)


def _notify(engine: Engine, publisher: RedisEventPublisher | None, user: Account, n: int) -> int:
    """What ``notify`` does: commit the inbox row, then publish it; returns its ``seq``."""
    row = inbox.append(
        engine,
        inbox.NewNotification(user.id, f"test-{uuid.uuid4()}", "test", f"n{n}", "body"),
    )
    if publisher is not None:
        publisher.publish(InboxEvent.of(row))
    assert row.seq is not None
    return row.seq


async def test_a_notification_reaches_a_client_of_another_instance_within_a_second(
    two_instances: tuple[str, str], engine: Engine, publisher: RedisEventPublisher,
    customer: Account,
) -> None:  # fmt: skip
    first, second = two_instances
    async with (
        open_events(first, customer.token) as on_first,
        open_events(second, customer.token) as on_second,
    ):
        seq = _notify(engine, publisher, customer, 1)
        committed = time.monotonic()
        got_second = await on_second.next_event(timeout=1.0)
        assert time.monotonic() - committed < 1.0
        got_first = await on_first.next_event(timeout=1.0)
    for got in (got_first, got_second):
        assert got.id == seq and got.data["title"] == "n1" and got.data["seq"] == seq
        assert "user_id" not in got.data


@pytest.mark.usefixtures("worker")
async def test_a_real_offer_reaches_the_app_on_another_instance(
    two_instances: tuple[str, str], api_url: str, customer: Account
) -> None:
    _, second = two_instances
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        await seed_good_history(client, customer)
        async with open_events(second, customer.token) as events:
            response = await client.post(
                "/v1/credit-decisions", params={"wait": 20}, headers=customer.headers
            )
            assert response.status_code == 201, response.text
            event = await events.next_event(timeout=10)
            received = datetime.now(UTC)
    assert event.data["kind"] == "offer_ready"
    assert event.data["decision_id"] == response.json()["id"]
    # created_at is stamped before the commit, so this over-estimates commit → delivery.
    assert (received - datetime.fromisoformat(event.data["created_at"])).total_seconds() < 1.0


async def test_resume_with_last_event_id_replays_exactly_the_missed_ones(
    two_instances: tuple[str, str], engine: Engine, publisher: RedisEventPublisher,
    customer: Account,
) -> None:  # fmt: skip
    first, second = two_instances
    async with open_events(first, customer.token) as events:
        seen = _notify(engine, publisher, customer, 1)
        assert (await events.next_event(timeout=1.0)).id == seen
    missed = [_notify(engine, publisher, customer, n) for n in (2, 3, 4)]
    async with open_events(second, customer.token, last_event_id=seen) as events:
        replayed = await events.events(3, timeout=1.0)
        assert [e.id for e in replayed] == missed
        assert [e.data["title"] for e in replayed] == ["n2", "n3", "n4"]
        live = _notify(engine, publisher, customer, 5)
        assert (await events.next_event(timeout=1.0)).id == live
        assert await events.silent_for(0.3)  # nothing twice


async def test_without_a_resume_point_the_stream_starts_after_the_newest(
    api_url: str, engine: Engine, publisher: RedisEventPublisher, customer: Account
) -> None:
    _notify(engine, publisher, customer, 1)
    async with open_events(api_url, customer.token) as events:
        assert await events.silent_for(0.3)
        fresh = _notify(engine, publisher, customer, 2)
        assert (await events.next_event(timeout=1.0)).id == fresh


async def test_a_lost_publish_is_caught_up_at_the_next_heartbeat(
    settings: Settings, engine: Engine, customer: Account
) -> None:
    quick = settings.model_copy(update={"events_heartbeat_seconds": 0.3})
    with serve_api(quick) as url:
        async with open_events(url, customer.token) as events:
            await async_wait_for(
                lambda: _true("heartbeat" in events.comments), message="a first heartbeat"
            )
            seq = _notify(engine, None, customer, 1)  # committed, never published
            assert (await events.next_event(timeout=2.0)).id == seq


async def _true(value: bool) -> bool:
    return value


def test_streams_per_user_are_bounded(
    settings: Settings, customer: Account, other_customer: Account
) -> None:
    bounded = settings.model_copy(update={"events_max_streams_per_user": 1})
    with serve_api(bounded) as url, httpx.Client(base_url=url, timeout=10) as http:
        with http.stream("GET", "/v1/me/events", headers=customer.headers) as held:
            assert held.status_code == 200
            refused = http.get("/v1/me/events", headers=customer.headers)
            body = assert_problem(refused, 429)
            assert str(body["type"]).endswith("too-many-streams") and refused.headers["Retry-After"]
            with http.stream("GET", "/v1/me/events", headers=other_customer.headers) as other:
                assert other.status_code == 200  # the bound is per user
        with http.stream("GET", "/v1/me/events", headers=customer.headers) as again:
            assert again.status_code == 200  # closing a stream frees its place


def test_needs_a_token_and_a_numeric_resume_point(api_url: str, customer: Account) -> None:
    assert_problem(httpx.get(f"{api_url}/v1/me/events"), 401)
    bad = httpx.get(f"{api_url}/v1/me/events", headers={**customer.headers, "Last-Event-ID": "abc"})
    assert_problem(bad, 422)
