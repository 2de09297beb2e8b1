"""A decision survives any number of emotion signals: it continues as new before Temporal's
history limit, carrying its whole state (issue 9.4).

The test starts its own dev server with the history limits lowered by dynamic config (the
session's server keeps the defaults): the server suggests continue-as-new at 50 events and
terminates a run at 200. Without continue-as-new the ~1,000 events of these 250 signals would
have terminated the decision and lost its offer — what happened at 51,200 events in production.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from temporalio.testing import WorkflowEnvironment

from ecs.contracts import AcceptRequest, EmotionSignal, ReviewRequest
from ecs.domain.status import DecisionStatus
from ecs.settings import Settings
from ecs.temporal.client import data_converter
from ecs.temporal.devserver import TemporalBinaryMissing, dynamic_config_args, find_binary
from ecs.temporal.search import ALL as SEARCH_ATTRIBUTES
from tests.workflows.conftest import (
    HISTORY_LIMITS,
    DecisionHandle,
    lowered_history_limit_args,
    start_fake_decision,
    status_of,
    wait_status,
)
from tests.workflows.fakes import FakeCredit, fake_worker
from workflows.credit_decision import CreditDecisionWorkflow


@pytest.fixture(scope="module")
async def small_history_env(base_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    try:
        binary = find_binary("temporal")
    except TemporalBinaryMissing as exc:
        pytest.fail(str(exc))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary,
        data_converter=data_converter(base_settings),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=dynamic_config_args() + lowered_history_limit_args(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


def reading(n: int, stress: float, intensity: float = 0.3) -> EmotionSignal:
    return EmotionSignal(event_id=f"e-{n}", stress=stress, intensity=intensity)


async def test_a_decision_survives_many_signals_and_keeps_its_offer(
    small_history_env: WorkflowEnvironment,
) -> None:
    client, fakes = small_history_env.client, FakeCredit()
    async with fake_worker(client, fakes) as queue:
        started, user_id = await start_fake_decision(client, queue, pause_seconds=3600)
        first_run = started.result_run_id
        # Follow the decision across runs: by workflow id, never by the first run's id.
        handle: DecisionHandle = client.get_workflow_handle_for(
            CreditDecisionWorkflow.run, started.id
        )
        offered = await wait_status(handle, DecisionStatus.OFFERED)

        for n in range(150):  # calm readings to an open offer
            await handle.signal(CreditDecisionWorkflow.emotion, reading(n, stress=0.2))
        await handle.signal(CreditDecisionWorkflow.emotion, reading(150, 0.95, 0.9))
        paused = await wait_status(handle, DecisionStatus.COOLING_OFF)
        for n in range(151, 250):  # neither calm nor distressed: the pause goes on
            await handle.signal(CreditDecisionWorkflow.emotion, reading(n, stress=0.6))
        await handle.signal(CreditDecisionWorkflow.emotion, reading(240, stress=0.2))  # again

        still = await status_of(handle)
        assert still.status is DecisionStatus.COOLING_OFF
        assert still.cooling_off_until == paused.cooling_off_until
        assert still.emotion_signals_seen == 250  # the redelivered reading counted once
        assert still.offer == offered.offer

        await handle.signal(CreditDecisionWorkflow.emotion, reading(250, stress=0.2))
        await wait_status(handle, DecisionStatus.OFFERED)
        await handle.execute_update(CreditDecisionWorkflow.accept, AcceptRequest(user_id=user_id))
        result = await handle.result()

        latest = await handle.describe()
        latest_length = latest.raw_description.workflow_execution_info.history_length
    assert result.status is DecisionStatus.ACTIVE and result.offer == offered.offer
    assert latest.run_id != first_run, "the decision never continued as new"
    assert latest_length < HISTORY_LIMITS["limit.historyCount.error"]
    assert offered.offer is not None
    assert [d.offer_id for d in fakes.called("accept_and_deploy")] == [offered.offer.offer_id]
    assert len(fakes.called("fetch_history")) == 1 and len(fakes.called("approve")) == 1
    assert fakes.notified == ["offer_ready", "credit_active"]  # none repeated by a later run
    assert fakes.called("record_status") == [DecisionStatus.COOLING_OFF, DecisionStatus.OFFERED]


async def test_a_pause_before_scoring_and_a_referral_survive_many_signals(
    small_history_env: WorkflowEnvironment,
) -> None:
    """The other two waits carry over too: a pause before scoring (then scored once) and a
    referral waiting for its analyst."""
    client, fakes = small_history_env.client, FakeCredit(model_down=True)
    async with fake_worker(client, fakes) as queue:
        started, user_id = await start_fake_decision(
            client, queue, start_emotion=reading(0, 0.95, 0.9)
        )
        handle: DecisionHandle = client.get_workflow_handle_for(
            CreditDecisionWorkflow.run, started.id
        )
        await wait_status(handle, DecisionStatus.COOLING_OFF)
        for n in range(1, 80):
            await handle.signal(CreditDecisionWorkflow.emotion, reading(n, stress=0.6))
        await handle.signal(CreditDecisionWorkflow.emotion, reading(80, stress=0.2))
        await wait_status(handle, DecisionStatus.REFERRED)
        for n in range(81, 160):
            await handle.signal(CreditDecisionWorkflow.emotion, reading(n, stress=0.2))
        review = ReviewRequest(
            reviewer_id=str(uuid.uuid4()),
            approve=True,
            comment="checked by hand",
            credit_limit=Decimal("800.00"),
            interest_rate=Decimal("0.2500"),
            credit_type="SHORT_TERM",
        )
        await handle.execute_update(CreditDecisionWorkflow.review, review)
        offered = await wait_status(handle, DecisionStatus.OFFERED)
        await handle.execute_update(CreditDecisionWorkflow.accept, AcceptRequest(user_id=user_id))
        result = await handle.result()
        latest = await handle.describe()
    assert result.status is DecisionStatus.ACTIVE and offered.emotion_signals_seen == 160
    assert latest.run_id != started.result_run_id
    assert len(fakes.called("fetch_history")) == 2 and len(fakes.called("score")) == 1
    assert fakes.notified == ["decision_referred", "offer_ready", "credit_active"]
