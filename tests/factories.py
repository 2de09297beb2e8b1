"""Rows the tests need, written through the real ORM into the real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session

from ecs.contracts import workflow_id_for
from ecs.db.tables import CreditDecision, EmotionEvent, Transaction, User
from ecs.domain.status import Role


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
