"""Activities in isolation (Temporal's ActivityEnvironment), against the real database.

The property that matters most here is idempotency under retry: Temporal may run an activity
again after it committed but before the server heard back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.decision import DecisionActivities
from activities.history import HistoryActivities
from activities.messages import (
    ApproveInput,
    DeployInput,
    FetchHistoryInput,
    NotifyInput,
    SettleInput,
)
from activities.notifications import LoggingPushProvider
from activities.notify import NotifyActivities
from activities.offer import OfferActivities
from ecs.db.tables import CreditAccount, DecisionRecord, Notification, Offer
from ecs.domain.emotions import CoolingOff
from ecs.domain.policy import Decision
from ecs.domain.status import OfferStatus
from ecs.risk.scorecard import ScorecardModel
from tests.factories import add_emotion, make_decision_row, make_user


@dataclass
class Credit:
    """The real activity classes on the test database, one attribute per seam."""

    history: HistoryActivities
    decisions: DecisionActivities
    offers: OfferActivities
    notify: NotifyActivities


@pytest.fixture
def credit(engine: Engine) -> Credit:
    return make_credit(engine)


def make_credit(engine: Engine) -> Credit:
    return Credit(
        HistoryActivities(engine),
        DecisionActivities(engine, ScorecardModel()),
        OfferActivities(engine, LoggingPushProvider()),
        NotifyActivities(engine, LoggingPushProvider()),
    )


async def _approved_offer(credit: Credit, engine: Engine) -> tuple[uuid.UUID, str, str]:
    env = ActivityEnvironment()
    user_id = make_user(engine)
    decision_id, _ = make_decision_row(engine, user_id)
    snapshot = env.run(
        credit.history.fetch_history,
        FetchHistoryInput(user_id=str(user_id), as_of=datetime.now(UTC)),
    )
    score = await env.run(credit.decisions.score, snapshot.features)
    result = env.run(
        credit.decisions.approve,
        ApproveInput(
            decision_id=decision_id,
            user_id=str(user_id),
            features=snapshot.features,
            score=score,
            offer_expires_at=datetime.now(UTC) + timedelta(hours=1),
            cooling_off=CoolingOff(),
        ),
    )
    assert result.outcome.decision is Decision.APPROVED and result.offer is not None
    return user_id, decision_id, result.offer.offer_id


async def test_fetch_history_reduces_rows_to_features(credit: Credit, engine: Engine) -> None:
    user_id = make_user(engine)
    add_emotion(engine, user_id, stress=0.9, intensity=0.8, ago=timedelta(minutes=5))
    snapshot = ActivityEnvironment().run(
        credit.history.fetch_history,
        FetchHistoryInput(user_id=str(user_id), as_of=datetime.now(UTC)),
    )
    assert snapshot.features.inflow_90d == 15000.0  # three monthly salaries inside 90 days
    assert snapshot.features.latest_stress == 0.9
    assert snapshot.latest_emotion_at is not None
    assert snapshot.features.account_age_days >= 90  # counted from the oldest transaction


def test_fetch_history_ignores_emotions_without_consent(credit: Credit, engine: Engine) -> None:
    user_id = make_user(engine, consent=False)
    add_emotion(engine, user_id, stress=0.9, intensity=0.8, ago=timedelta(minutes=5))
    snapshot = ActivityEnvironment().run(
        credit.history.fetch_history,
        FetchHistoryInput(user_id=str(user_id), as_of=datetime.now(UTC)),
    )
    assert snapshot.features.latest_stress is None and snapshot.latest_emotion_at is None


def test_unknown_user_is_a_non_retryable_error(credit: Credit) -> None:
    with pytest.raises(ApplicationError) as info:
        ActivityEnvironment().run(
            credit.history.fetch_history,
            FetchHistoryInput(user_id=str(uuid.uuid4()), as_of=datetime.now(UTC)),
        )
    assert info.value.non_retryable and info.value.type == "NotFound"


async def test_approve_retried_after_commit_returns_the_stored_result(
    credit: Credit, engine: Engine
) -> None:
    user_id = make_user(engine)
    decision_id, _ = make_decision_row(engine, user_id)
    env = ActivityEnvironment()
    snapshot = env.run(
        credit.history.fetch_history,
        FetchHistoryInput(user_id=str(user_id), as_of=datetime.now(UTC)),
    )
    score = await env.run(credit.decisions.score, snapshot.features)
    inp = ApproveInput(
        decision_id=decision_id,
        user_id=str(user_id),
        features=snapshot.features,
        score=score,
        offer_expires_at=datetime.now(UTC) + timedelta(hours=1),
        cooling_off=CoolingOff(),
    )
    first = env.run(credit.decisions.approve, inp)
    second = env.run(credit.decisions.approve, inp)
    assert second.offer == first.offer
    assert second.outcome.credit_limit == first.outcome.credit_limit
    with Session(engine) as session:
        did = uuid.UUID(decision_id)
        assert (
            len(session.exec(select(DecisionRecord).where(DecisionRecord.decision_id == did)).all())
            == 1
        )
        assert len(session.exec(select(Offer).where(Offer.decision_id == did)).all()) == 1


async def test_deploy_credit_changes_the_account_exactly_once(
    credit: Credit, engine: Engine
) -> None:
    user_id, decision_id, offer_id = await _approved_offer(credit, engine)
    env = ActivityEnvironment()
    env.run(
        credit.offers.settle_offer,
        SettleInput(decision_id=decision_id, offer_id=offer_id, outcome="ACCEPTED"),
    )
    deploy = DeployInput(decision_id=decision_id, offer_id=offer_id, user_id=str(user_id))
    first = env.run(credit.offers.deploy_credit, deploy)
    with Session(engine) as session:
        account = session.get(CreditAccount, user_id)
        assert account is not None
        stamp = account.updated_at
    second = env.run(credit.offers.deploy_credit, deploy)  # a retry after a lost acknowledgement
    assert first.newly_deployed and not second.newly_deployed
    assert second.credit_limit == first.credit_limit
    with Session(engine) as session:
        account = session.get(CreditAccount, user_id)
        assert account is not None and account.updated_at == stamp
        offer = session.get(Offer, uuid.UUID(offer_id))
        assert offer is not None and offer.status == OfferStatus.DEPLOYED


async def test_deploy_refuses_an_offer_that_was_not_accepted(
    credit: Credit, engine: Engine
) -> None:
    user_id, decision_id, offer_id = await _approved_offer(credit, engine)
    with pytest.raises(ApplicationError) as info:
        ActivityEnvironment().run(
            credit.offers.deploy_credit,
            DeployInput(decision_id=decision_id, offer_id=offer_id, user_id=str(user_id)),
        )
    assert info.value.non_retryable and info.value.type == "OfferNotAccepted"
    with Session(engine) as session:
        assert session.get(CreditAccount, user_id) is None


async def test_accept_and_deploy_settles_and_deploys_exactly_once(
    credit: Credit, engine: Engine
) -> None:
    user_id, decision_id, offer_id = await _approved_offer(credit, engine)
    env = ActivityEnvironment()
    deploy = DeployInput(decision_id=decision_id, offer_id=offer_id, user_id=str(user_id))
    first = env.run(credit.offers.accept_and_deploy, deploy)
    with Session(engine) as session:
        account = session.get(CreditAccount, user_id)
        assert account is not None
        stamp = account.updated_at
        offer = session.get(Offer, uuid.UUID(offer_id))
        assert offer is not None and offer.status == OfferStatus.DEPLOYED
        assert offer.settled_at is not None
        settled_at = offer.settled_at
    second = env.run(credit.offers.accept_and_deploy, deploy)  # a retry after a lost ack
    assert first.newly_deployed and not second.newly_deployed
    with Session(engine) as session:
        account = session.get(CreditAccount, user_id)
        assert account is not None and account.updated_at == stamp
        offer = session.get(Offer, uuid.UUID(offer_id))
        assert offer is not None and offer.settled_at == settled_at


async def test_accept_and_deploy_refuses_an_offer_that_ended(
    credit: Credit, engine: Engine
) -> None:
    user_id, decision_id, offer_id = await _approved_offer(credit, engine)
    env = ActivityEnvironment()
    env.run(
        credit.offers.settle_offer,
        SettleInput(decision_id=decision_id, offer_id=offer_id, outcome="EXPIRED"),
    )
    with pytest.raises(ApplicationError) as info:
        env.run(
            credit.offers.accept_and_deploy,
            DeployInput(decision_id=decision_id, offer_id=offer_id, user_id=str(user_id)),
        )
    assert info.value.non_retryable and info.value.type == "OfferNotAccepted"
    with Session(engine) as session:
        assert session.get(CreditAccount, user_id) is None
        offer = session.get(Offer, uuid.UUID(offer_id))
        assert offer is not None and offer.status == OfferStatus.EXPIRED


def _notice(user_id: uuid.UUID, decision_id: str) -> NotifyInput:
    return NotifyInput(
        user_id=str(user_id), decision_id=decision_id, kind="credit_active", title="t", body="b"
    )


def _notices(engine: Engine, user_id: uuid.UUID) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification).where(Notification.user_id == user_id)))


async def test_accept_and_deploy_records_the_notice_with_the_line_once(
    credit: Credit, engine: Engine
) -> None:
    """The credit line and the app's notice commit together; a retry adds neither again."""
    user_id, decision_id, offer_id = await _approved_offer(credit, engine)
    deploy = DeployInput(
        decision_id=decision_id,
        offer_id=offer_id,
        user_id=str(user_id),
        notice=_notice(user_id, decision_id),
    )
    env = ActivityEnvironment()
    env.run(credit.offers.accept_and_deploy, deploy)
    env.run(credit.offers.accept_and_deploy, deploy)  # a retry after a lost ack
    rows = _notices(engine, user_id)
    assert [(r.kind, r.dedup_key) for r in rows] == [
        ("credit_active", f"{decision_id}:credit_active")
    ]
    push = credit.offers.push
    assert isinstance(push, LoggingPushProvider)
    assert sum(1 for m in push.sent if m.user_id == str(user_id)) == 2  # delivered after commit


async def test_a_refused_deployment_records_no_notice(credit: Credit, engine: Engine) -> None:
    user_id, decision_id, offer_id = await _approved_offer(credit, engine)
    env = ActivityEnvironment()
    env.run(
        credit.offers.settle_offer,
        SettleInput(decision_id=decision_id, offer_id=offer_id, outcome="DECLINED"),
    )
    with pytest.raises(ApplicationError):
        env.run(
            credit.offers.accept_and_deploy,
            DeployInput(
                decision_id=decision_id,
                offer_id=offer_id,
                user_id=str(user_id),
                notice=_notice(user_id, decision_id),
            ),
        )
    assert _notices(engine, user_id) == []
    push = credit.offers.push
    assert isinstance(push, LoggingPushProvider)
    assert not any(m.user_id == str(user_id) for m in push.sent)


def test_notify_writes_one_inbox_row_per_decision_and_kind(credit: Credit, engine: Engine) -> None:
    user_id = make_user(engine, months=0)
    decision_id, _ = make_decision_row(engine, user_id)
    message = NotifyInput(
        user_id=str(user_id), decision_id=decision_id, kind="offer_ready", title="t", body="b"
    )
    env = ActivityEnvironment()
    env.run(credit.notify.notify, message)
    env.run(credit.notify.notify, message)
    with Session(engine) as session:
        rows = session.exec(select(Notification).where(Notification.user_id == user_id)).all()
    assert len(rows) == 1
    push = credit.notify.push
    assert isinstance(push, LoggingPushProvider)
    assert sum(1 for m in push.sent if m.user_id == str(user_id)) == 2  # push may repeat
