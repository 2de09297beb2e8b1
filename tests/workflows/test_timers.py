"""Durable timers (offer expiry, cooling-off pause) with the time-skipping test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.registry import build_activities
from ecs.contracts import DecisionView, EmotionSignal
from ecs.db.tables import CreditDecision, Notification, Offer
from ecs.domain.status import DecisionStatus, OfferStatus
from ecs.settings import Settings
from ecs.temporal.client import data_converter
from ecs.temporal.devserver import find_binary
from ecs.temporal.search import register as register_search_attributes
from tests.factories import make_user
from tests.workflows.conftest import start_decision, status_of
from workflows.registry import WORKFLOWS

QUEUE = "time-skipping"
DAY = 24 * 3600


@pytest.fixture
async def skipping_env(base_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """A fresh server per test: its clock must start at real time, because activities compare
    workflow time with rows written at wall-clock time."""
    try:
        binary = find_binary("temporal-test-server")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary, data_converter=data_converter(base_settings)
    )
    await register_search_attributes(env.client, "default")
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with Worker(
            env.client,
            task_queue=QUEUE,
            workflows=WORKFLOWS,
            activities=build_activities(base_settings),
            activity_executor=executor,
        ):
            yield env
    await env.shutdown()


async def test_unanswered_offer_expires_on_its_durable_timer(
    skipping_env: WorkflowEnvironment, engine: Engine, base_settings: Settings
) -> None:
    user_id = make_user(engine)
    handle = await start_decision(
        skipping_env.client,
        engine,
        base_settings,
        user_id,
        offer_ttl_seconds=3 * DAY,
        task_queue=QUEUE,
    )
    result: DecisionView = await handle.result()  # three days pass in moments
    assert result.status is DecisionStatus.EXPIRED
    assert result.offer is not None
    with Session(engine) as session:
        offer = session.exec(select(Offer).where(Offer.user_id == user_id)).one()
        assert offer.status == OfferStatus.EXPIRED and offer.settled_at is not None
        header = session.exec(
            select(CreditDecision).where(CreditDecision.workflow_id == handle.id)
        ).one()
        assert header.status == DecisionStatus.EXPIRED
        kinds = {
            n.kind
            for n in session.exec(select(Notification).where(Notification.user_id == user_id))
        }
    assert kinds == {"offer_ready", "offer_expired"}


async def test_cooling_off_ends_on_its_timer_without_a_calm_reading(
    skipping_env: WorkflowEnvironment, engine: Engine, base_settings: Settings
) -> None:
    user_id = make_user(engine)
    with skipping_env.auto_time_skipping_disabled():
        handle = await start_decision(
            skipping_env.client,
            engine,
            base_settings,
            user_id,
            task_queue=QUEUE,
            pause_seconds=1800,
            offer_ttl_seconds=DAY,
            start_emotion=EmotionSignal(event_id="d-1", stress=0.99, intensity=0.9),
        )
        deadline_view = None
        for _ in range(200):
            view = await status_of(handle)
            if view.status is DecisionStatus.COOLING_OFF:
                deadline_view = view
                break
            await skipping_env.sleep(0.05)
        assert deadline_view is not None and deadline_view.risk_score is None
        await skipping_env.sleep(1801)  # skip past the pause: the timer, not a signal, ends it
        view = await status_of(handle)
        for _ in range(200):
            if view.status is DecisionStatus.OFFERED:
                break
            await skipping_env.sleep(0.05)
            view = await status_of(handle)
    assert view.status is DecisionStatus.OFFERED and view.risk_score is not None
    result = await handle.result()
    assert result.status is DecisionStatus.EXPIRED
