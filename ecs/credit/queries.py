"""Database reads of credit decisions: headers, their newest records and offers, as views.

Listings read the database, never Temporal visibility (which is eventually consistent), and load
many decisions in three queries (headers, records, offers), never one query per decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ecs import errors
from ecs.credit.views import DecisionSummary, from_rows
from ecs.db.tables import CreditDecision, DecisionRecord, Offer
from ecs.domain.status import OPEN_DECISION_STATUSES, DecisionStatus


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


def offer_of(engine: Engine, decision_id: uuid.UUID) -> Offer | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(Offer).where(Offer.decision_id == decision_id)).first()


def _latest_records(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, DecisionRecord]:
    """The newest audit record per decision (records are append-only; the last one counts)."""
    latest: dict[uuid.UUID, DecisionRecord] = {}
    if not ids:
        return latest
    rows = session.exec(
        select(DecisionRecord)
        .where(col(DecisionRecord.decision_id).in_(ids))
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


def review_queue(session: Session, limit: int, offset: int) -> list[DecisionSummary]:
    """REFERRED decisions, oldest first: the analyst works the queue in arrival order."""
    rows = session.exec(
        select(CreditDecision)
        .where(CreditDecision.status == DecisionStatus.REFERRED)
        .order_by(col(CreditDecision.requested_at), col(CreditDecision.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return stored_views(session, rows)
