"""Claiming the header row of a credit decision: the database decides whether a new one exists.

The unique ``(user_id, idempotency_key)`` constraint makes a repeated ``Idempotency-Key`` return
the same decision, and the partial unique index ``uq_credit_decisions_one_open_per_user`` makes
concurrent requests converge on one open decision. The row is stored before any workflow starts:
if the process dies (or Temporal is down) right after, the row stays PENDING and the next
request for that user starts its workflow, so nothing is lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ecs import errors
from ecs.contracts import workflow_id_for
from ecs.credit import queries
from ecs.db.tables import CreditDecision
from ecs.domain.status import DecisionStatus

_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    decision: CreditDecision
    created: bool


def claim_decision(engine: Engine, user_id: uuid.UUID, idempotency_key: str | None) -> Claim:
    """The decision this request is about: an existing one (same key, or the open one) or new.

    The insert is attempted rather than preceded by a "does one exist?" check, so the unique
    indexes arbitrate races; the loop covers the window in which the open decision that blocked
    our insert closes before we can read it.
    """
    for _ in range(_CLAIM_ATTEMPTS):
        with Session(engine, expire_on_commit=False) as session:
            if idempotency_key and (found := queries.by_key(session, user_id, idempotency_key)):
                return Claim(found, created=False)
            decision_id = uuid.uuid4()
            row = CreditDecision(
                id=decision_id,
                user_id=user_id,
                workflow_id=workflow_id_for(str(decision_id)),
                idempotency_key=idempotency_key,
                status=DecisionStatus.PENDING,
            )
            session.add(row)
            try:
                session.commit()
                return Claim(row, created=True)
            except IntegrityError:
                session.rollback()
            if idempotency_key and (found := queries.by_key(session, user_id, idempotency_key)):
                return Claim(found, created=False)
            if found := queries.open_for(session, user_id):
                return Claim(found, created=False)
    raise errors.Conflict(
        "Another credit request for this account is being processed; retry.",
        code="decision-conflict",
        title="Decision conflict",
    )
