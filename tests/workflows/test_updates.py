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
from tests.workflows.conftest import start_fake_decision, status_of, wait_status
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


async def _refused(update: Awaitable[DecisionView]) -> str:
    """The validator's reason for refusing an update."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await update
    return str(info.value.cause)


async def test_accept_deploys_the_offer_once(temporal_client: Client) -> None:
    fakes = FakeCredit()
    async with fake_worker(temporal_client, fakes) as queue:
        handle, user_id = await start_fake_decision(temporal_client, queue)
        offered = await wait_status(handle, DecisionStatus.OFFERED)
        accepted = await handle.execute_update(
            CreditDecisionWorkflow.accept, AcceptRequest(user_id=user_id)
        )
        assert accepted.status is DecisionStatus.OFFERED  # acknowledged first, then deployed
        result = await handle.result()
    assert result.status is DecisionStatus.ACTIVE and offered.offer is not None
    # One transaction settles and deploys (the two-step path is for histories before the patch).
    assert [d.offer_id for d in fakes.called("accept_and_deploy")] == [offered.offer.offer_id]
    assert fakes.called("settle_offer") == fakes.called("deploy_credit") == []
    assert fakes.notified == ["offer_ready", "credit_active"]


async def test_decline_and_the_offer_validators(temporal_client: Client) -> None:
    fakes = FakeCredit()
    async with fake_worker(temporal_client, fakes) as queue:
        handle, user_id = await start_fake_decision(temporal_client, queue)
        await wait_status(handle, DecisionStatus.OFFERED)
        other = AcceptRequest(user_id=str(uuid.uuid4()))
        assert "another user" in await _refused(
            handle.execute_update(CreditDecisionWorkflow.accept, other)
        )
        await handle.execute_update(CreditDecisionWorkflow.decline, DeclineRequest(user_id=user_id))
        result = await handle.result()
    assert result.status is DecisionStatus.DECLINED
    assert [s.outcome for s in fakes.called("settle_offer")] == ["DECLINED"]
    assert fakes.called("accept_and_deploy") == fakes.called("deploy_credit") == []


async def test_accept_is_refused_while_cooling_off(temporal_client: Client) -> None:
    fakes = FakeCredit()
    async with fake_worker(temporal_client, fakes) as queue:
        handle, user_id = await start_fake_decision(temporal_client, queue)
        await wait_status(handle, DecisionStatus.OFFERED)
        distress = EmotionSignal(event_id="d-1", stress=0.95, intensity=0.9)
        await handle.signal(CreditDecisionWorkflow.emotion, distress)
        await wait_status(handle, DecisionStatus.COOLING_OFF)
        accept = AcceptRequest(user_id=user_id)
        assert "cooling-off" in await _refused(
            handle.execute_update(CreditDecisionWorkflow.accept, accept)
        )
        calm = EmotionSignal(event_id="c-1", stress=0.1, intensity=0.2)
        await handle.signal(CreditDecisionWorkflow.emotion, calm)
        await wait_status(handle, DecisionStatus.OFFERED)
        await handle.execute_update(CreditDecisionWorkflow.accept, accept)
        assert (await handle.result()).status is DecisionStatus.ACTIVE


async def test_referred_then_reviewed_by_an_analyst(temporal_client: Client) -> None:
    fakes = FakeCredit(model_down=True)
    async with fake_worker(temporal_client, fakes) as queue:
        handle, user_id = await start_fake_decision(temporal_client, queue)
        referred = await wait_status(handle, DecisionStatus.REFERRED)
        assert referred.approved is None and "MODEL_UNAVAILABLE" in referred.reason_codes
        no_terms = ReviewRequest(reviewer_id=ANALYST, approve=True, comment="looks fine")
        assert "credit_limit" in await _refused(
            handle.execute_update(CreditDecisionWorkflow.review, no_terms)
        )
        await handle.execute_update(CreditDecisionWorkflow.review, APPROVE)
        offered = await wait_status(handle, DecisionStatus.OFFERED)
        await handle.execute_update(CreditDecisionWorkflow.accept, AcceptRequest(user_id=user_id))
        result = await handle.result()
    assert offered.credit_limit == Decimal("1500.00") and result.status is DecisionStatus.ACTIVE
    reviewed = fakes.called("approve")[1]
    assert reviewed.review == APPROVE and reviewed.prior is not None
    assert fakes.notified == ["decision_referred", "offer_ready", "credit_active"]


async def test_a_malformed_or_own_reviewer_id_is_refused(temporal_client: Client) -> None:
    """The README's own placeholder used to be accepted, and approve then failed forever."""
    fakes = FakeCredit(model_down=True)
    async with fake_worker(temporal_client, fakes) as queue:
        handle, user_id = await start_fake_decision(temporal_client, queue)
        await wait_status(handle, DecisionStatus.REFERRED)
        for reviewer in ("<analyst id>", "", user_id.upper()):
            bad = APPROVE.model_copy(update={"reviewer_id": reviewer})
            reason = await _refused(handle.execute_update(CreditDecisionWorkflow.review, bad))
            assert "reviewer" in reason
        await handle.execute_update(CreditDecisionWorkflow.review, APPROVE)
        await wait_status(handle, DecisionStatus.OFFERED)
        await handle.terminate("test over")
    assert len(fakes.called("approve")) == 2  # no refused review reached the database


async def test_a_refused_review_never_wedges_the_decision(temporal_client: Client) -> None:
    """A review whose reviewer the database refuses (a customer's id) is dropped: the decision
    stays REFERRED, says why, and the next valid review resolves it."""
    customer = str(uuid.uuid4())
    fakes = FakeCredit(model_down=True, refused_reviewers=frozenset({customer}))
    async with fake_worker(temporal_client, fakes) as queue:
        handle, _ = await start_fake_decision(temporal_client, queue)
        await wait_status(handle, DecisionStatus.REFERRED)
        by_customer = APPROVE.model_copy(update={"reviewer_id": customer})
        await handle.execute_update(CreditDecisionWorkflow.review, by_customer)

        async def refused() -> DecisionView | None:
            view = await status_of(handle)
            return view if view.review_error else None

        view = await async_wait_for(refused, timeout=10, interval=0.01, message="the refusal")
        assert view.status is DecisionStatus.REFERRED
        assert view.review_error and "not an analyst" in view.review_error
        await handle.execute_update(CreditDecisionWorkflow.review, APPROVE)
        offered = await wait_status(handle, DecisionStatus.OFFERED)
        await handle.terminate("test over")
    assert offered.credit_limit == APPROVE.credit_limit
    assert [a.review.reviewer_id for a in fakes.called("approve")[1:]] == [customer, ANALYST]
