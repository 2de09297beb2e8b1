"""One case as the analyst's workbench shows it: the decision, why the model scored it so, the
customer's emotional context as aggregates, and every record of the decision so far.

Read from the database only (the append-only records are the audit), so a case opens the same
whether its workflow is running, closed or Temporal is down. The emotional context is the
30 days of daily sums before the request, never a raw reading: an analyst needs to know a
customer was under stress, not what they felt at 02:14 on a Tuesday.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, func, select

from ecs.credit.queries import not_found
from ecs.db.tables import CreditDecision, DecisionRecord, EmotionDaily, Offer
from ecs.domain.status import DecisionStatus, OfferStatus, RecordKind

EMOTION_DAYS = 30


@dataclass(frozen=True)
class CaseRecord:
    kind: RecordKind
    sequence: int
    outcome: str
    reviewer_id: uuid.UUID | None
    comment: str | None
    credit_limit: Decimal
    interest_rate: Decimal
    credit_type: str | None
    reason_codes: list[str]
    created_at: datetime


@dataclass(frozen=True)
class Contribution:
    feature: str
    log_odds: float


@dataclass(frozen=True)
class EmotionContext:
    days: int
    readings: int
    distress_readings: int
    mean_stress: float | None
    mean_intensity: float | None


@dataclass(frozen=True)
class CaseOffer:
    offer_id: uuid.UUID
    credit_limit: Decimal
    interest_rate: Decimal
    credit_type: str
    expires_at: datetime
    status: OfferStatus


@dataclass(frozen=True)
class Proposal:
    reviewer_id: uuid.UUID | None
    credit_limit: Decimal
    interest_rate: Decimal
    credit_type: str | None
    comment: str | None
    created_at: datetime


@dataclass(frozen=True)
class ReviewCase:
    decision_id: uuid.UUID
    user_id: uuid.UUID
    status: DecisionStatus
    queue_reason: DecisionStatus | None  # REFERRED or CONTESTED; None if it never was in review
    requested_at: datetime
    review_due_at: datetime | None
    escalated_at: datetime | None
    risk_score: float | None
    risk_band: str | None
    model_version: str | None
    policy_version: str | None
    reason_codes: list[str]
    features: dict[str, Any]
    contributions: list[Contribution]
    emotions: EmotionContext
    offer: CaseOffer | None
    contest_reason: str | None
    proposal: Proposal | None
    four_eyes_limit: Decimal
    records: list[CaseRecord]


def review_case(session: Session, decision_id: uuid.UUID, four_eyes_limit: Decimal) -> ReviewCase:
    decision = session.get(CreditDecision, decision_id)
    if decision is None:
        raise not_found()
    records = list(
        session.exec(
            select(DecisionRecord)
            .where(DecisionRecord.decision_id == decision_id)
            .order_by(col(DecisionRecord.created_at), col(DecisionRecord.id))
        ).all()
    )
    automated = next((r for r in records if r.kind == RecordKind.AUTOMATED), None)
    deciding = [r for r in records if r.kind in (RecordKind.AUTOMATED, RecordKind.REVIEW)]
    latest = deciding[-1] if deciding else None
    contest = next((r for r in records if r.kind == RecordKind.CONTEST), None)
    offer = session.exec(select(Offer).where(Offer.decision_id == decision_id)).first()
    return ReviewCase(
        decision_id=decision.id,
        user_id=decision.user_id,
        status=decision.status,
        queue_reason=_queue_reason(decision, records),
        requested_at=decision.requested_at,
        review_due_at=decision.review_due_at,
        escalated_at=decision.escalated_at,
        risk_score=automated.risk_score if automated else None,
        risk_band=latest.risk_band if latest else None,
        model_version=automated.model_version if automated else None,
        policy_version=latest.policy_version if latest else None,
        reason_codes=list(latest.reason_codes) if latest else [],
        features=dict(automated.features) if automated else {},
        contributions=_contributions(automated.contributions if automated else {}),
        emotions=_emotions(session, decision.user_id, decision.requested_at),
        offer=_offer(offer),
        contest_reason=contest.comment if contest else None,
        proposal=_open_proposal(decision, records),
        four_eyes_limit=four_eyes_limit,
        records=[_record(r) for r in records],
    )


def _queue_reason(decision: CreditDecision, records: list[DecisionRecord]) -> DecisionStatus | None:
    if any(r.kind == RecordKind.CONTEST for r in records):
        return DecisionStatus.CONTESTED
    if any(r.outcome == DecisionStatus.REFERRED.value for r in records):
        return DecisionStatus.REFERRED
    return None


def _contributions(raw: dict[str, float]) -> list[Contribution]:
    """Largest effect first, either way: what pushed the score up or down the most."""
    items = [Contribution(feature=k, log_odds=float(v)) for k, v in raw.items()]
    return sorted(items, key=lambda c: (-abs(c.log_odds), c.feature))


def _emotions(session: Session, user_id: uuid.UUID, before: datetime) -> EmotionContext:
    since = (before - timedelta(days=EMOTION_DAYS)).date()
    readings, distress, stress, intensity = session.execute(
        select(
            func.coalesce(func.sum(EmotionDaily.readings), 0),
            func.coalesce(func.sum(EmotionDaily.distress_count), 0),
            func.sum(EmotionDaily.stress_sum),
            func.sum(EmotionDaily.intensity_sum),
        ).where(
            EmotionDaily.user_id == user_id,
            col(EmotionDaily.day) >= since,
            col(EmotionDaily.day) <= before.date(),
        )
    ).one()
    count = int(readings)
    return EmotionContext(
        days=EMOTION_DAYS,
        readings=count,
        distress_readings=int(distress),
        mean_stress=round(float(stress) / count, 3) if count and stress is not None else None,
        mean_intensity=round(float(intensity) / count, 3)
        if count and intensity is not None
        else None,
    )


def _offer(offer: Offer | None) -> CaseOffer | None:
    if offer is None:
        return None
    return CaseOffer(
        offer_id=offer.id,
        credit_limit=offer.credit_limit,
        interest_rate=offer.interest_rate,
        credit_type=offer.credit_type,
        expires_at=offer.expires_at,
        status=offer.status,
    )


def _open_proposal(decision: CreditDecision, records: list[DecisionRecord]) -> Proposal | None:
    """The four-eyes proposal a second analyst must answer (only while CONFIRMING)."""
    if decision.status != DecisionStatus.CONFIRMING:
        return None
    proposals = [r for r in records if r.kind == RecordKind.PROPOSAL]
    if not proposals:
        return None
    p = proposals[-1]
    return Proposal(
        reviewer_id=p.reviewer_id,
        credit_limit=p.credit_limit,
        interest_rate=p.interest_rate,
        credit_type=p.credit_type,
        comment=p.comment,
        created_at=p.created_at,
    )


def _record(r: DecisionRecord) -> CaseRecord:
    return CaseRecord(
        kind=RecordKind(r.kind),
        sequence=r.sequence,
        outcome=r.outcome,
        reviewer_id=r.reviewer_id,
        comment=r.comment,
        credit_limit=r.credit_limit,
        interest_rate=r.interest_rate,
        credit_type=r.credit_type,
        reason_codes=list(r.reason_codes),
        created_at=r.created_at,
    )
