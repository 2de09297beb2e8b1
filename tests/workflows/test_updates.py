"""Updates (accept, decline, review) and their validators, with fake activities.

The time-skipping server does not support updates, so these run on the session's dev server —
still a fresh worker and task queue per test, and no database: each takes tens of milliseconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from decimal import Decimal

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from ecs.contracts import (
    AcceptRequest,
    DecisionView,
    DeclineRequest,
    EmotionSignal,
    ReviewRequest,
)
from ecs.domain.status import DecisionStatus
from tests.support import async_wait_for
from tests.workflows.conftest import DecisionHandle, start_fake_decision, status_of
from tests.workflows.fakes import FakeCredit, fake_worker
from workflows.credit_decision import CreditDecisionWorkflow

ANALYST = str(uuid.uuid4())
APPROVE = ReviewRequest(
    reviewer_id=ANALYST,
    approve=True,
    comment="checked by hand",
    credit_limit=Decimal("1500.00"),
    interest_rate=Decimal("0.2400"),
    credit_type="SHORT_TERM",
)


async def _reaches(handle: DecisionHandle, status: DecisionStatus) -> DecisionView:
    async def check() -> DecisionView | None:
        view = await status_of(handle)
        return view if view.status is status else None

    return await async_wait_for(check, timeout=10, interval=0.01, message=f"{status}")


async def _refused(update: Awaitable[DecisionView]) -> str:
    """The validator's reason for refusing an update."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await update
    return str(info.value.cause)


async def test_accept_deploys_the_offer_once(temporal_client: Client) -> None:
    fakes = FakeCredit()
    async with fake_worker(temporal_client, fakes) as queue:
        handle, user_id = await start_fake_decision(temporal_client, queue)
        offered = await _reaches(handle, DecisionStatus.OFFERED)
        accepted = await handle.execute_update(
            CreditDecisionWorkflow.accept, AcceptRequest(user_id=user_id)
        )
        assert accepted.status is DecisionStatus.OFFERED  # acknowledged first, then deployed
        result = await handle.result()
    assert result.status is DecisionStatus.ACTIVE and offered.offer is not None
    assert [d.offer_id for d in fakes.called("deploy_credit")] == [offered.offer.offer_id]
    assert [s.outcome for s in fakes.called("settle_offer")] == ["ACCEPTED"]
    assert fakes.notified == ["offer_ready", "credit_active"]


async def test_decline_and_the_offer_validators(temporal_client: Client) -> None:
    fakes = FakeCredit()
    async with fake_worker(temporal_client, fakes) as queue:
        handle, user_id = await start_fake_decision(temporal_client, queue)
        await _reaches(handle, DecisionStatus.OFFERED)
        other = AcceptRequest(user_id=str(uuid.uuid4()))
        assert "another user" in await _refused(
            handle.execute_update(CreditDecisionWorkflow.accept, other)
        )
        await handle.execute_update(CreditDecisionWorkflow.decline, DeclineRequest(user_id=user_id))
        result = await handle.result()
    assert result.status is DecisionStatus.DECLINED
    assert [s.outcome for s in fakes.called("settle_offer")] == ["DECLINED"]
    assert fakes.called("deploy_credit") == []


async def test_accept_is_refused_while_cooling_off(temporal_client: Client) -> None:
    fakes = FakeCredit()
    async with fake_worker(temporal_client, fakes) as queue:
        handle, user_id = await start_fake_decision(temporal_client, queue)
        await _reaches(handle, DecisionStatus.OFFERED)
        distress = EmotionSignal(event_id="d-1", stress=0.95, intensity=0.9)
        await handle.signal(CreditDecisionWorkflow.emotion, distress)
        await _reaches(handle, DecisionStatus.COOLING_OFF)
        accept = AcceptRequest(user_id=user_id)
        assert "cooling-off" in await _refused(
            handle.execute_update(CreditDecisionWorkflow.accept, accept)
        )
        calm = EmotionSignal(event_id="c-1", stress=0.1, intensity=0.2)
        await handle.signal(CreditDecisionWorkflow.emotion, calm)
        await _reaches(handle, DecisionStatus.OFFERED)
        await handle.execute_update(CreditDecisionWorkflow.accept, accept)
        assert (await handle.result()).status is DecisionStatus.ACTIVE


async def test_referred_then_reviewed_by_an_analyst(temporal_client: Client) -> None:
    fakes = FakeCredit(model_down=True)
    async with fake_worker(temporal_client, fakes) as queue:
        handle, user_id = await start_fake_decision(temporal_client, queue)
        referred = await _reaches(handle, DecisionStatus.REFERRED)
        assert referred.approved is None and "MODEL_UNAVAILABLE" in referred.reason_codes
        no_terms = ReviewRequest(reviewer_id=ANALYST, approve=True, comment="looks fine")
        assert "credit_limit" in await _refused(
            handle.execute_update(CreditDecisionWorkflow.review, no_terms)
        )
        await handle.execute_update(CreditDecisionWorkflow.review, APPROVE)
        offered = await _reaches(handle, DecisionStatus.OFFERED)
        await handle.execute_update(CreditDecisionWorkflow.accept, AcceptRequest(user_id=user_id))
        result = await handle.result()
    assert offered.credit_limit == Decimal("1500.00") and result.status is DecisionStatus.ACTIVE
    reviewed = fakes.called("approve")[1]
    assert reviewed.review == APPROVE and reviewed.prior is not None
    assert fakes.notified == ["decision_referred", "offer_ready", "credit_active"]
