"""The workflow's main paths in milliseconds: fake activities on the time-skipping server.

Every test lets its workflow finish: the server stops skipping time while anything of an
abandoned workflow is outstanding, which stalls the next test (a referral waits for a person,
so it is tested with its review in ``test_updates.py``).

One time-skipping server per module, a fresh worker on its own task queue per test, and the
activities replaced by ``FakeCredit`` under the same names: what is tested is the workflow's
logic (branches, timers, signals, the calls it makes), not the database. Updates (accept,
decline, review) are not supported by the time-skipping server: ``test_updates.py`` covers them
on the dev server with the same fakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from ecs.contracts import EmotionSignal
from ecs.domain.status import DecisionStatus
from ecs.settings import Settings
from ecs.temporal.client import data_converter
from ecs.temporal.devserver import TemporalBinaryMissing, find_binary
from ecs.temporal.search import register as register_search_attributes
from tests.workflows.conftest import start_fake_decision, wait_status
from tests.workflows.fakes import DISTRESSED, NO_INCOME, FakeCredit, fake_worker
from workflows.credit_decision import CreditDecisionWorkflow

DAY = 24 * 3600
DISTRESS = EmotionSignal(event_id="d-1", stress=0.95, intensity=0.9)
CALM = EmotionSignal(event_id="c-1", stress=0.2, intensity=0.3)


@pytest.fixture(scope="module")
async def env(base_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    try:
        binary = find_binary("temporal-test-server")
    except TemporalBinaryMissing as exc:
        pytest.fail(str(exc))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary, data_converter=data_converter(base_settings)
    )
    await register_search_attributes(env.client, "default")
    try:
        yield env
    finally:
        await env.shutdown()


async def test_approved_offer_expires_on_its_timer(env: WorkflowEnvironment) -> None:
    fakes = FakeCredit()
    async with fake_worker(env.client, fakes) as queue:
        handle, _ = await start_fake_decision(env.client, queue, offer_ttl_seconds=3 * DAY)
        result = await handle.result()  # three days pass in moments
    assert result.status is DecisionStatus.EXPIRED and result.approved is True
    assert result.offer is not None and result.risk_score == 0.08
    assert fakes.notified == ["offer_ready", "offer_expired"]
    assert [s.outcome for s in fakes.called("settle_offer")] == ["EXPIRED"]
    assert fakes.called("accept_and_deploy") == fakes.called("deploy_credit") == []


async def test_no_income_is_denied_without_an_offer(env: WorkflowEnvironment) -> None:
    fakes = FakeCredit(features=NO_INCOME)
    async with fake_worker(env.client, fakes) as queue:
        handle, _ = await start_fake_decision(env.client, queue)
        result = await handle.result()
    assert result.status is DecisionStatus.DENIED and result.approved is False
    assert "NO_RECENT_INFLOW" in result.reason_codes and result.offer is None
    assert fakes.notified == ["decision_denied"]


async def test_distress_before_scoring_pauses_until_a_calm_reading(
    env: WorkflowEnvironment,
) -> None:
    fakes = FakeCredit()
    async with fake_worker(env.client, fakes) as queue:
        with env.auto_time_skipping_disabled():
            handle, _ = await start_fake_decision(env.client, queue, start_emotion=DISTRESS)
            paused = await wait_status(handle, DecisionStatus.COOLING_OFF)
            assert paused.risk_score is None and paused.cooling_off_until is not None
            await handle.signal(CreditDecisionWorkflow.emotion, DISTRESS)  # redelivered: once
            await handle.signal(CreditDecisionWorkflow.emotion, CALM)
            offered = await wait_status(handle, DecisionStatus.OFFERED)
        await handle.result()  # the offer expires: every test leaves the server idle
    assert offered.risk_score is not None and offered.emotion_signals_seen == 2
    assert offered.cooling_off_until is None
    assert fakes.called("record_status") == [DecisionStatus.COOLING_OFF, DecisionStatus.PENDING]
    assert len(fakes.called("fetch_history")) == 2  # read again after the pause


async def test_cooling_off_ends_on_its_timer(env: WorkflowEnvironment) -> None:
    fakes = FakeCredit()
    async with fake_worker(env.client, fakes) as queue:
        handle, _ = await start_fake_decision(
            env.client, queue, pause_seconds=1800, offer_ttl_seconds=DAY, start_emotion=DISTRESS
        )
        result = await handle.result()  # the pause's timer, then the offer's, are skipped
    assert result.status is DecisionStatus.EXPIRED and result.risk_score is not None
    assert fakes.called("record_status") == [DecisionStatus.COOLING_OFF, DecisionStatus.PENDING]
    assert fakes.notified == ["offer_ready", "offer_expired"]


async def test_stored_distress_pauses_before_scoring(env: WorkflowEnvironment) -> None:
    fakes = FakeCredit(features=DISTRESSED, stored_distress_ago=timedelta(minutes=5))
    async with fake_worker(env.client, fakes) as queue:
        handle, _ = await start_fake_decision(env.client, queue, pause_seconds=600)
        result = await handle.result()
    assert fakes.called("record_status") == [DecisionStatus.COOLING_OFF, DecisionStatus.PENDING]
    assert result.status is DecisionStatus.EXPIRED


async def test_distress_while_the_offer_is_open_pauses_it(env: WorkflowEnvironment) -> None:
    fakes = FakeCredit()
    async with fake_worker(env.client, fakes) as queue:
        with env.auto_time_skipping_disabled():
            handle, _ = await start_fake_decision(env.client, queue)
            await wait_status(handle, DecisionStatus.OFFERED)
            await handle.signal(CreditDecisionWorkflow.emotion, DISTRESS)
            paused = await wait_status(handle, DecisionStatus.COOLING_OFF)
            assert paused.offer is not None and paused.cooling_off_until is not None
            assert paused.cooling_off_until <= paused.offer.expires_at
            await handle.signal(CreditDecisionWorkflow.emotion, CALM)
            offered = await wait_status(handle, DecisionStatus.OFFERED)
        result = await handle.result()
    assert offered.offer == paused.offer and result.status is DecisionStatus.EXPIRED
    assert fakes.called("record_status") == [DecisionStatus.COOLING_OFF, DecisionStatus.OFFERED]
