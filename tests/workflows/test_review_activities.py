"""Human review's activities in isolation, against the real database: what a retry may not do
twice (a contest, an escalation, an analyst's notice) and who is told when a case needs a person.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.credit_lines import CreditLineActivities
from activities.interface import OTHER_DECISION_OPEN
from activities.messages import ContestInput, DeployInput, EscalateInput
from activities.review import ReviewActivities
from ecs.credit_lines.contract import ChangeKind, Proposal, RecordInput
from ecs.db.tables import CreditDecision, DecisionRecord, Notification, User
from ecs.db.types import utcnow
from ecs.domain.status import DecisionStatus, RecordKind, Role
from ecs.settings import Settings
from tests.factories import make_decision_row, make_user
from tests.workflows.test_activities import _approved_offer, make_credit

DUE = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _set_status(engine: Engine, decision_id: str, status: DecisionStatus) -> None:
    with Session(engine) as session:
        row = session.get(CreditDecision, uuid.UUID(decision_id))
        assert row is not None
        row.status = status
        session.add(row)
        session.commit()


def _records(engine: Engine, decision_id: str, kind: RecordKind) -> list[DecisionRecord]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(DecisionRecord).where(
                    DecisionRecord.decision_id == uuid.UUID(decision_id),
                    DecisionRecord.kind == kind,
                )
            ).all()
        )


def _notices(engine: Engine, kind: str, key: str) -> dict[uuid.UUID, int]:
    """Per recipient, how many notices of this kind mention ``key`` in their data."""
    with Session(engine) as session:
        rows = session.exec(select(Notification).where(Notification.kind == kind)).all()
    counts: dict[uuid.UUID, int] = {}
    for row in rows:
        if key in row.data.values():
            counts[row.user_id] = counts.get(row.user_id, 0) + 1
    return counts


def test_a_contest_is_recorded_once_and_refused_while_another_decision_is_open(
    engine: Engine,
) -> None:
    env, reviews = ActivityEnvironment(), ReviewActivities(engine)
    user = make_user(engine)
    denied, _ = make_decision_row(engine, user)
    _set_status(engine, denied, DecisionStatus.DENIED)
    contest = ContestInput(decision_id=denied, user_id=str(user), reason="cash", review_due_at=DUE)

    env.run(reviews.open_contest, contest)
    env.run(reviews.open_contest, contest)  # a retry after a lost acknowledgement
    assert len(_records(engine, denied, RecordKind.CONTEST)) == 1
    with Session(engine) as session:
        header = session.get(CreditDecision, uuid.UUID(denied))
        assert header is not None and header.status == DecisionStatus.CONTESTED
        assert header.review_due_at == DUE

    other_user = make_user(engine)
    old, _ = make_decision_row(engine, other_user)
    _set_status(engine, old, DecisionStatus.DENIED)
    make_decision_row(engine, other_user)  # PENDING: open
    with pytest.raises(ApplicationError) as refused:
        env.run(
            reviews.open_contest,
            ContestInput(decision_id=old, user_id=str(other_user), reason="x", review_due_at=DUE),
        )
    assert refused.value.type == OTHER_DECISION_OPEN and refused.value.non_retryable
    assert _records(engine, old, RecordKind.CONTEST) == []


def test_an_escalation_flags_once_and_tells_each_active_analyst_once(engine: Engine) -> None:
    env, reviews = ActivityEnvironment(), ReviewActivities(engine)
    analysts = [make_user(engine, role=Role.ANALYST, months=0) for _ in range(2)]
    gone = make_user(engine, role=Role.ANALYST, months=0)
    with Session(engine) as session:
        erased = session.get(User, gone)
        assert erased is not None
        erased.erased_at = utcnow()
        session.add(erased)
        session.commit()
    user = make_user(engine)
    decision_id, _ = make_decision_row(engine, user)
    _set_status(engine, decision_id, DecisionStatus.REFERRED)
    escalate = EscalateInput(
        decision_id=decision_id,
        user_id=str(user),
        status=DecisionStatus.REFERRED,
        review_due_at=DUE,
    )
    env.run(reviews.escalate_review, escalate)
    env.run(reviews.escalate_review, escalate)  # retried

    assert len(_records(engine, decision_id, RecordKind.ESCALATION)) == 1
    with Session(engine) as session:
        header = session.get(CreditDecision, uuid.UUID(decision_id))
        assert header is not None and header.escalated_at is not None
    told = _notices(engine, "review_overdue", decision_id)
    assert {a: told.get(a) for a in analysts} == {a: 1 for a in analysts}
    assert gone not in told and user not in told


async def test_a_flagged_credit_line_reaches_every_analyst(
    engine: Engine, settings: Settings
) -> None:
    credit = make_credit(engine)
    env = ActivityEnvironment()
    user_id, decision_id, offer_id = await _approved_offer(credit, engine)
    env.run(
        credit.offers.accept_and_deploy,
        DeployInput(decision_id=decision_id, offer_id=offer_id, user_id=str(user_id)),
    )
    analyst = make_user(engine, role=Role.ANALYST, months=0)
    lines = CreditLineActivities(engine, settings, None)
    proposal = Proposal(
        kind=ChangeKind.FLAGGED,
        old_limit=Decimal("1000.00"),
        new_limit=Decimal("1000.00"),
        old_rate=Decimal("0.2000"),
        new_rate=Decimal("0.2000"),
        offer_id=offer_id,
        policy_version="test",
        model_version=None,
        notice_seconds=timedelta(days=30).total_seconds(),
        offer_seconds=timedelta(days=14).total_seconds(),
    )
    flagged = RecordInput(account_id=str(user_id), kind=ChangeKind.FLAGGED, proposal=proposal)
    env.run(lines.record_change, flagged)
    env.run(lines.record_change, flagged)  # retried
    told = _notices(engine, "credit_line_flagged", str(user_id))
    assert told.get(analyst) == 1 and user_id not in told

    no_change = flagged.model_copy(
        update={
            "kind": ChangeKind.NO_CHANGE,
            "proposal": proposal.model_copy(update={"kind": ChangeKind.NO_CHANGE}),
        }
    )
    before = len(_notices(engine, "credit_line_flagged", str(user_id)))
    env.run(lines.record_change, no_change)
    assert len(_notices(engine, "credit_line_flagged", str(user_id))) == before
    with Session(engine) as session:
        assert session.exec(
            select(col(Notification.id)).where(Notification.user_id == analyst)
        ).all()
