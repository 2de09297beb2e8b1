"""Database reads of credit decisions: headers, their newest records and offers, as views.

Listings read the database, never Temporal visibility (which is eventually consistent), and load
many decisions in three queries (headers, records, offers), never one query per decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from ecs import errors
from ecs.credit.views import DecisionSummary, QueueEntry, from_rows
from ecs.db.tables import CreditDecision, DecisionRecord, Offer
from ecs.domain.status import (
    OPEN_DECISION_STATUSES,
    OUTCOME_RECORD_KINDS,
    REVIEW_QUEUE_STATUSES,
    DecisionStatus,
    RecordKind,
)


def not_found() -> errors.NotFound:
    # Another user's decision is "not found", never "forbidden": ids must not be an oracle.
    return errors.NotFound("No such credit decision.")


def by_key(session: Session, user_id: uuid.UUID, key: str) -> CreditDecision | None:
    return session.exec(
        select(CreditDecision).where(
            CreditDecision.user_id == user_id, CreditDecision.idempotency_key == key
        )
    ).first()


def open_for(session: Session, user_id: uuid.UUID) -> CreditDecision | None:
    return session.exec(
        select(CreditDecision).where(
            CreditDecision.user_id == user_id,
            col(CreditDecision.status).in_(OPEN_DECISION_STATUSES),
        )
    ).first()


def load_decision(
    engine: Engine, decision_id: uuid.UUID, owner_id: uuid.UUID | None
) -> CreditDecision:
    """The decision, checked to belong to ``owner_id`` (``None``: any owner, for analysts)."""
    with Session(engine, expire_on_commit=False) as session:
        decision = session.get(CreditDecision, decision_id)
    if decision is None or (owner_id is not None and decision.user_id != owner_id):
        raise not_found()
    return decision


def decision_with_offer(
    engine: Engine, decision_id: uuid.UUID, owner_id: uuid.UUID
) -> tuple[CreditDecision, Offer | None]:
    """The owner's decision and its offer (if any) in one statement: what an accept or decline
    needs before its update (the offer's id names the update), read in one round trip."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.exec(
            select(CreditDecision, Offer)
            .outerjoin(Offer, col(Offer.decision_id) == col(CreditDecision.id))
            .where(CreditDecision.id == decision_id)
        ).first()
    if row is None or row[0].user_id != owner_id:
        raise not_found()
    return row[0], row[1]


def offer_of(engine: Engine, decision_id: uuid.UUID) -> Offer | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(Offer).where(Offer.decision_id == decision_id)).first()


def _latest_records(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, DecisionRecord]:
    """The newest deciding record per decision (records are append-only; the last one counts;
    a contest, proposal or escalation is a step of a review, not an outcome)."""
    latest: dict[uuid.UUID, DecisionRecord] = {}
    if not ids:
        return latest
    rows = session.exec(
        select(DecisionRecord)
        .where(
            col(DecisionRecord.decision_id).in_(ids),
            col(DecisionRecord.kind).in_(list(OUTCOME_RECORD_KINDS)),
        )
        .order_by(col(DecisionRecord.created_at), col(DecisionRecord.id))
    ).all()
    for row in rows:
        latest[row.decision_id] = row
    return latest


def _offers(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Offer]:
    if not ids:
        return {}
    rows = session.exec(select(Offer).where(col(Offer.decision_id).in_(ids))).all()
    return {row.decision_id: row for row in rows}


def stored_views(session: Session, decisions: Sequence[CreditDecision]) -> list[DecisionSummary]:
    """Database views of many decisions in three queries (no N+1)."""
    ids = [d.id for d in decisions]
    records, offers = _latest_records(session, ids), _offers(session, ids)
    return [from_rows(d, records.get(d.id), offers.get(d.id)) for d in decisions]


def stored_view(engine: Engine, decision_id: uuid.UUID) -> DecisionSummary:
    with Session(engine, expire_on_commit=False) as session:
        decision = session.get(CreditDecision, decision_id)
        if decision is None:
            raise not_found()
        return stored_views(session, [decision])[0]


def decisions_of(
    session: Session, user_id: uuid.UUID, limit: int, offset: int
) -> list[DecisionSummary]:
    """The user's decisions, newest first (``limit`` rows at most)."""
    rows = session.exec(
        select(CreditDecision)
        .where(CreditDecision.user_id == user_id)
        .order_by(col(CreditDecision.requested_at).desc(), col(CreditDecision.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return stored_views(session, rows)


def review_queue(session: Session, limit: int, offset: int) -> list[QueueEntry]:
    """Decisions an analyst must act on (REFERRED, CONTESTED, CONFIRMING): the overdue first,
    then oldest first, so the queue is worked in arrival order and nothing waits forever."""
    rows = session.exec(
        select(CreditDecision)
        .where(col(CreditDecision.status).in_(list(REVIEW_QUEUE_STATUSES)))
        .order_by(
            col(CreditDecision.escalated_at).is_(None),
            col(CreditDecision.requested_at),
            col(CreditDecision.id),
        )
        .offset(offset)
        .limit(limit)
    ).all()
    contested = contested_ids(session, [row.id for row in rows])
    return [
        QueueEntry(
            summary=summary,
            queue_reason=DecisionStatus.CONTESTED
            if row.id in contested
            else DecisionStatus.REFERRED,
            review_due_at=row.review_due_at,
            escalated_at=row.escalated_at,
        )
        for row, summary in zip(rows, stored_views(session, rows), strict=True)
    ]


def record_count(engine: Engine, decision_id: uuid.UUID, kind: RecordKind) -> int:
    """How many records of this kind the decision has (a review's round, for its update id)."""
    with Session(engine) as session:
        return session.exec(
            select(func.count()).where(
                DecisionRecord.decision_id == decision_id, DecisionRecord.kind == kind
            )
        ).one()


def contested_ids(session: Session, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these decisions their customer contested (the rest were referred)."""
    if not ids:
        return set()
    return set(
        session.exec(
            select(DecisionRecord.decision_id).where(
                col(DecisionRecord.decision_id).in_(ids),
                DecisionRecord.kind == RecordKind.CONTEST,
            )
        ).all()
    )
