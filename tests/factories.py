"""Rows the tests need, written through the real ORM into the real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session

from ecs.contracts import workflow_id_for
from ecs.db.tables import CreditAccount, CreditDecision, EmotionEvent, Offer, Transaction, User
from ecs.domain.status import DecisionStatus, OfferStatus, Role


def make_user(
    engine: Engine,
    *,
    monthly_inflow: Decimal = Decimal("5000"),
    monthly_outflow: Decimal = Decimal("3000"),
    months: int = 4,
    role: Role = Role.CUSTOMER,
    consent: bool = True,
) -> uuid.UUID:
    """A customer with ``months`` of salary and spending, so the policy has history to judge."""
    now = datetime.now(UTC)
    user = User(
        email=f"user-{uuid.uuid4().hex[:10]}@example.com",
        password_hash="not-used",
        role=role,
        consent_emotion_processing=consent,
    )
    with Session(engine) as session:
        session.add(user)
        session.flush()
        for month in range(months):
            day = now - timedelta(days=30 * month + 2)
            if monthly_inflow:
                session.add(
                    Transaction(
                        user_id=user.id, amount=monthly_inflow, direction="in", occurred_at=day
                    )
                )
            if monthly_outflow:
                for part in range(3):
                    session.add(
                        Transaction(
                            user_id=user.id,
                            amount=(monthly_outflow / 3).quantize(Decimal("0.01")),
                            direction="out",
                            occurred_at=day - timedelta(days=part * 7 + 1),
                        )
                    )
        session.commit()
        return user.id


def make_decision_row(engine: Engine, user_id: uuid.UUID) -> tuple[str, str]:
    """The header row the API would insert before starting the workflow."""
    decision_id = uuid.uuid4()
    with Session(engine) as session:
        session.add(
            CreditDecision(
                id=decision_id, user_id=user_id, workflow_id=workflow_id_for(str(decision_id))
            )
        )
        session.commit()
    return str(decision_id), workflow_id_for(str(decision_id))


def add_emotion(
    engine: Engine, user_id: uuid.UUID, *, stress: float, intensity: float, ago: timedelta
) -> uuid.UUID:
    event_id = uuid.uuid4()
    with Session(engine) as session:
        session.add(
            EmotionEvent(
                event_id=event_id,
                user_id=user_id,
                occurred_at=datetime.now(UTC) - ago,
                kind="stress",
                positivity=0.2,
                intensity=intensity,
                stress=stress,
            )
        )
        session.commit()
    return event_id


def make_credit_line(
    engine: Engine,
    user_id: uuid.UUID,
    *,
    credit_limit: Decimal = Decimal("5000.00"),
    interest_rate: Decimal = Decimal("0.1890"),
    activated_at: datetime | None = None,
) -> uuid.UUID:
    """The user's active line, deployed from a decision and an offer as ``deploy_credit`` does
    (a second call replaces the line, like a newly accepted offer); returns the offer id."""
    decision_id, _ = make_decision_row(engine, user_id)
    now = activated_at or datetime.now(UTC)
    offer = Offer(
        decision_id=uuid.UUID(decision_id),
        user_id=user_id,
        credit_limit=credit_limit,
        interest_rate=interest_rate,
        credit_type="SHORT_TERM",
        status=OfferStatus.DEPLOYED,
        expires_at=now + timedelta(days=7),
        settled_at=now,
    )
    with Session(engine) as session:
        decision = session.get(CreditDecision, uuid.UUID(decision_id))
        assert decision is not None
        decision.status = DecisionStatus.ACTIVE  # closed: the user may have another decision
        session.add_all([decision, offer])
        session.flush()
        account = session.get(CreditAccount, user_id) or CreditAccount(
            user_id=user_id,
            credit_limit=credit_limit,
            interest_rate=interest_rate,
            credit_type="SHORT_TERM",
            offer_id=offer.id,
        )
        account.credit_limit, account.interest_rate = credit_limit, interest_rate
        account.offer_id, account.activated_at, account.updated_at = offer.id, now, now
        session.add(account)
        session.commit()
        return offer.id
