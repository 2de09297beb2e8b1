"""The credit decision end to end on the real dev server, worker, activities and database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.worker import Worker

from ecs.contracts import AcceptRequest, DecisionView, DeclineRequest, EmotionSignal, ReviewRequest
from ecs.db.tables import CreditAccount, CreditDecision, DecisionRecord, Notification, Offer
from ecs.domain.status import DecisionStatus, OfferStatus, Role
from ecs.settings import Settings
from tests.factories import make_user
from tests.support import async_wait_for
from tests.workflows.conftest import start_decision, status_of, wait_status
from workflows.credit_decision import CreditDecisionWorkflow

pytestmark = pytest.mark.usefixtures("worker")


def _notifications(engine: Engine, user_id: uuid.UUID) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(Notification).where(Notification.user_id == user_id)).all()
        return sorted(n.kind for n in rows)


async def test_approved_offer_accepted_deploys_credit_and_notifies(
    temporal_client: Client, engine: Engine, settings: Settings
) -> None:
    user_id = make_user(engine)
    handle = await start_decision(temporal_client, engine, settings, user_id)
    offered = await wait_status(handle, DecisionStatus.OFFERED)
    assert offered.approved is True and offered.offer is not None
    assert offered.credit_limit and offered.credit_limit > 0
    assert offered.risk_band in {"A", "B", "C", "D"}
    assert offered.model_version and offered.policy_version

    accepted = await handle.execute_update(
        CreditDecisionWorkflow.accept, AcceptRequest(user_id=str(user_id))
    )
    assert accepted.status is DecisionStatus.OFFERED  # the update is acknowledged first
    result = await handle.result()
    assert result.status is DecisionStatus.ACTIVE

    with Session(engine) as session:
        account = session.get(CreditAccount, user_id)
        assert account is not None
        assert account.credit_limit == offered.credit_limit
        offer = session.get(Offer, uuid.UUID(offered.offer.offer_id))
        assert offer is not None and offer.status == OfferStatus.DEPLOYED
        header = session.get(CreditDecision, uuid.UUID(offered.decision_id))
        assert header is not None and header.status == DecisionStatus.ACTIVE
        records = session.exec(
            select(DecisionRecord).where(DecisionRecord.decision_id == header.id)
        ).all()
        assert [r.outcome for r in records] == ["APPROVED"]
        assert records[0].features["inflow_90d"] > 0 and records[0].risk_score is not None
    assert _notifications(engine, user_id) == ["credit_active", "offer_ready"]


async def test_user_without_income_is_denied_with_reasons(
    temporal_client: Client, engine: Engine, settings: Settings
) -> None:
    user_id = make_user(engine, monthly_inflow=Decimal("0"))
    handle = await start_decision(temporal_client, engine, settings, user_id)
    result = await handle.result()
    assert result.status is DecisionStatus.DENIED
    assert result.approved is False and result.credit_limit == 0
    assert "NO_RECENT_INFLOW" in result.reason_codes
    assert _notifications(engine, user_id) == ["decision_denied"]


async def test_decline_and_validators(
    temporal_client: Client, engine: Engine, settings: Settings
) -> None:
    user_id = make_user(engine)
    handle = await start_decision(temporal_client, engine, settings, user_id)
    await wait_status(handle, DecisionStatus.OFFERED)

    with pytest.raises(WorkflowUpdateFailedError) as other:
        await handle.execute_update(
            CreditDecisionWorkflow.accept, AcceptRequest(user_id=str(uuid.uuid4()))
        )
    assert "another user" in str(other.value.cause)

    await handle.execute_update(
        CreditDecisionWorkflow.decline, DeclineRequest(user_id=str(user_id))
    )
    result = await handle.result()
    assert result.status is DecisionStatus.DECLINED
    with Session(engine) as session:
        assert session.get(CreditAccount, user_id) is None
        offer = session.exec(select(Offer).where(Offer.user_id == user_id)).one()
        assert offer.status == OfferStatus.DECLINED


async def test_distress_signal_pauses_open_offer_until_calm(
    temporal_client: Client, engine: Engine, settings: Settings
) -> None:
    user_id = make_user(engine)
    handle = await start_decision(temporal_client, engine, settings, user_id)
    await wait_status(handle, DecisionStatus.OFFERED)

    distress = EmotionSignal(event_id="e-1", stress=0.95, intensity=0.9)
    await handle.signal(CreditDecisionWorkflow.emotion, distress)
    await handle.signal(CreditDecisionWorkflow.emotion, distress)  # redelivered: applied once
    paused = await wait_status(handle, DecisionStatus.COOLING_OFF)
    assert paused.cooling_off_until is not None and paused.emotion_signals_seen == 1

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            CreditDecisionWorkflow.accept, AcceptRequest(user_id=str(user_id))
        )
    assert "cooling-off" in str(refused.value.cause)

    await handle.signal(
        CreditDecisionWorkflow.emotion, EmotionSignal(event_id="e-2", stress=0.2, intensity=0.3)
    )
    await wait_status(handle, DecisionStatus.OFFERED)
    await handle.execute_update(CreditDecisionWorkflow.accept, AcceptRequest(user_id=str(user_id)))
    assert (await handle.result()).status is DecisionStatus.ACTIVE


async def test_distress_before_scoring_pauses_the_decision(
    temporal_client: Client, engine: Engine, settings: Settings
) -> None:
    user_id = make_user(engine)
    handle = await start_decision(
        temporal_client,
        engine,
        settings,
        user_id,
        start_emotion=EmotionSignal(event_id="s-1", stress=0.9, intensity=0.8),
    )
    paused = await wait_status(handle, DecisionStatus.COOLING_OFF)
    assert paused.risk_score is None  # not scored while the user is in distress

    async def header_paused() -> bool:
        # The workflow's state changes first; the database projection follows (an activity).
        with Session(engine) as session:
            header = session.exec(
                select(CreditDecision).where(CreditDecision.workflow_id == handle.id)
            ).one()
            return header.status == DecisionStatus.COOLING_OFF

    await async_wait_for(header_paused, timeout=10, message="the header to show COOLING_OFF")

    await handle.signal(
        CreditDecisionWorkflow.emotion, EmotionSignal(event_id="s-2", stress=0.1, intensity=0.2)
    )
    offered = await wait_status(handle, DecisionStatus.OFFERED)
    assert offered.risk_score is not None


@pytest.fixture
async def failing_model_worker(temporal_client: Client, settings: Settings) -> AsyncIterator[str]:
    """A worker whose risk model is down, on its own task queue."""
    from activities.registry import build_activities
    from ecs.risk.model import ModelUnavailable, RiskScore
    from workflows.registry import WORKFLOWS

    class DownModel:
        name = "down"

        async def predict(self, features: object) -> RiskScore:
            raise ModelUnavailable("connection refused")

    queue = f"down-model-{uuid.uuid4().hex[:6]}"
    executor = ThreadPoolExecutor(max_workers=4)
    worker = Worker(
        temporal_client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=build_activities(settings, model=DownModel()),
        activity_executor=executor,
    )
    async with worker:
        yield queue


async def test_model_outage_refers_to_review_then_analyst_approves(
    temporal_client: Client, engine: Engine, settings: Settings, failing_model_worker: str
) -> None:
    user_id = make_user(engine)
    analyst_id = str(make_user(engine, role=Role.ANALYST, months=0))
    handle = await start_decision(
        temporal_client, engine, settings, user_id, task_queue=failing_model_worker
    )
    referred = await wait_status(handle, DecisionStatus.REFERRED)
    assert referred.approved is None and "MODEL_UNAVAILABLE" in referred.reason_codes

    with pytest.raises(WorkflowUpdateFailedError) as no_terms:
        await handle.execute_update(
            CreditDecisionWorkflow.review,
            ReviewRequest(reviewer_id=analyst_id, approve=True, comment="looks fine"),
        )
    assert "credit_limit" in str(no_terms.value.cause)

    # Another customer is not a reviewer: the database refuses, the decision stays REFERRED
    # and says why, and the analyst's review below still resolves it (it used to wedge).
    customer_id = str(make_user(engine, months=0))
    await handle.execute_update(
        CreditDecisionWorkflow.review,
        ReviewRequest(
            reviewer_id=customer_id,
            approve=True,
            comment="not mine to give",
            credit_limit=Decimal("9000.00"),
            interest_rate=Decimal("0.0100"),
            credit_type="LONG_TERM",
        ),
    )

    async def refused() -> DecisionView | None:
        view = await status_of(handle)
        return view if view.review_error else None

    still = await async_wait_for(refused, timeout=20, message="the refused review")
    assert still.status is DecisionStatus.REFERRED and still.offer is None

    await handle.execute_update(
        CreditDecisionWorkflow.review,
        ReviewRequest(
            reviewer_id=analyst_id,
            approve=True,
            comment="manual check ok",
            credit_limit=Decimal("1500.00"),
            interest_rate=Decimal("0.2400"),
            credit_type="SHORT_TERM",
        ),
    )
    offered = await wait_status(handle, DecisionStatus.OFFERED)
    assert offered.credit_limit == Decimal("1500.00") and offered.offer is not None
    with Session(engine) as session:
        records = session.exec(
            select(DecisionRecord)
            .where(DecisionRecord.decision_id == uuid.UUID(offered.decision_id))
            .order_by(DecisionRecord.sequence)  # type: ignore[arg-type]
        ).all()
    assert [(r.kind, r.outcome) for r in records] == [
        ("AUTOMATED", "REFERRED"),
        ("REVIEW", "APPROVED"),
    ]
    assert records[1].comment == "manual check ok" and str(records[1].reviewer_id) == analyst_id
    await handle.execute_update(
        CreditDecisionWorkflow.decline, DeclineRequest(user_id=str(user_id))
    )
    assert (await handle.result()).status is DecisionStatus.DECLINED
