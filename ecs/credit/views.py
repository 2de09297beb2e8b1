"""THE mapping from a credit decision to what a client sees, whichever side it was read from.

A decision is read live from its workflow while it runs (``?wait=``, GET of an open decision) and
from the append-only records once it is closed (lists, the review queue, any read while Temporal
is down). Both sides are first reduced to :class:`Facts`, and :func:`summarise` is the only
function that turns facts into a :class:`DecisionSummary`, so the two readings cannot drift apart
again (they did: a REFERRED decision once read ``approved: null, credit_limit: "0.00"`` live and
``approved: false, credit_limit: null`` stored).

The reading:

* ``approved`` is ``true`` for an approval, ``false`` for a denial, and ``null`` while nobody has
  decided yet, which includes REFERRED (a person will decide).
* ``credit_limit``, ``interest_rate`` and ``credit_type`` are the terms of an approval; they are
  ``null`` for anything else. A denial has no terms, and ``"0.00"`` would read as a real limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from ecs.contracts import DecisionView, OfferView
from ecs.db.tables import CreditDecision, DecisionRecord, Offer
from ecs.domain.policy import Decision
from ecs.domain.status import DecisionStatus, OfferStatus

Source = Literal["workflow", "database"]

# Where the offer stands at each decision status; the workflow's view carries no offer status.
OFFER_STATUS_OF: dict[DecisionStatus, OfferStatus] = {
    DecisionStatus.OFFERED: OfferStatus.OPEN,
    DecisionStatus.COOLING_OFF: OfferStatus.OPEN,
    DecisionStatus.ACCEPTED: OfferStatus.ACCEPTED,
    DecisionStatus.ACTIVE: OfferStatus.DEPLOYED,
    DecisionStatus.DECLINED: OfferStatus.DECLINED,
    DecisionStatus.EXPIRED: OfferStatus.EXPIRED,
    DecisionStatus.FAILED: OfferStatus.EXPIRED,
}


@dataclass(frozen=True)
class OfferSummary:
    id: uuid.UUID
    credit_limit: Decimal
    interest_rate: Decimal
    credit_type: str
    expires_at: datetime
    status: OfferStatus | None


@dataclass(frozen=True)
class DecisionSummary:
    """A credit decision as its customer (or an analyst) sees it."""

    id: uuid.UUID
    user_id: uuid.UUID
    status: DecisionStatus
    approved: bool | None
    risk_score: float | None
    risk_band: str | None
    credit_limit: Decimal | None
    interest_rate: Decimal | None
    credit_type: str | None
    reason_codes: list[str]
    offer: OfferSummary | None
    cooling_off_until: datetime | None
    model_version: str | None
    policy_version: str | None
    requested_at: datetime
    updated_at: datetime
    source: Source


@dataclass(frozen=True)
class QueueEntry:
    """A decision in the analysts' queue: why it is there and when it is (or was) due."""

    summary: DecisionSummary
    queue_reason: DecisionStatus  # REFERRED (by the model or the policy) or CONTESTED
    review_due_at: datetime | None
    escalated_at: datetime | None


@dataclass(frozen=True)
class Facts:
    """What is known of a decision, reduced from either side. ``outcome`` is the policy's (or
    the analyst's) decision, ``None`` while none was made; the terms are as recorded."""

    status: DecisionStatus
    outcome: Decision | None = None
    risk_score: float | None = None
    risk_band: str | None = None
    credit_limit: Decimal | None = None
    interest_rate: Decimal | None = None
    credit_type: str | None = None
    reason_codes: Sequence[str] = ()
    offer: OfferSummary | None = None
    cooling_off_until: datetime | None = None
    model_version: str | None = None
    policy_version: str | None = None
    updated_at: datetime | None = None


def summarise(decision: CreditDecision, facts: Facts, source: Source) -> DecisionSummary:
    """The one decision → view mapping (see the module docstring for the reading)."""
    approved = (
        None if facts.outcome in (None, Decision.REFERRED) else facts.outcome is Decision.APPROVED
    )
    return DecisionSummary(
        id=decision.id,
        user_id=decision.user_id,
        status=facts.status,
        approved=approved,
        risk_score=facts.risk_score,
        risk_band=facts.risk_band,
        credit_limit=facts.credit_limit if approved else None,
        interest_rate=facts.interest_rate if approved else None,
        credit_type=facts.credit_type if approved else None,
        reason_codes=list(facts.reason_codes),
        offer=facts.offer,
        cooling_off_until=facts.cooling_off_until,
        model_version=facts.model_version,
        policy_version=facts.policy_version,
        requested_at=decision.requested_at,
        updated_at=facts.updated_at or decision.updated_at,
        source=source,
    )


def _live_outcome(view: DecisionView) -> Decision | None:
    if view.approved is not None:
        return Decision.APPROVED if view.approved else Decision.DENIED
    # Not approved nor denied, yet a policy ran: the decision was referred to a person.
    return Decision.REFERRED if view.policy_version is not None else None


def _live_offer(offer: OfferView | None, status: DecisionStatus) -> OfferSummary | None:
    if offer is None:
        return None
    return OfferSummary(
        id=uuid.UUID(offer.offer_id),
        credit_limit=offer.credit_limit,
        interest_rate=offer.interest_rate,
        credit_type=offer.credit_type,
        expires_at=offer.expires_at,
        status=OFFER_STATUS_OF.get(status),
    )


def from_workflow(decision: CreditDecision, view: DecisionView) -> DecisionSummary:
    """The running workflow's own view (its ``status`` query or an update's answer)."""
    facts = Facts(
        status=view.status,
        outcome=_live_outcome(view),
        risk_score=view.risk_score,
        risk_band=view.risk_band,
        credit_limit=view.credit_limit,
        interest_rate=view.interest_rate,
        credit_type=view.credit_type,
        reason_codes=view.reason_codes,
        offer=_live_offer(view.offer, view.status),
        cooling_off_until=view.cooling_off_until,
        model_version=view.model_version,
        policy_version=view.policy_version,
        updated_at=view.updated_at,
    )
    return summarise(decision, facts, "workflow")


def _stored_offer(offer: Offer | None) -> OfferSummary | None:
    if offer is None:
        return None
    return OfferSummary(
        id=offer.id,
        credit_limit=offer.credit_limit,
        interest_rate=offer.interest_rate,
        credit_type=offer.credit_type,
        expires_at=offer.expires_at,
        status=OfferStatus(offer.status),
    )


def from_rows(
    decision: CreditDecision, record: DecisionRecord | None, offer: Offer | None
) -> DecisionSummary:
    """The header, its newest append-only record and its offer, as stored."""
    if record is None:
        facts = Facts(status=decision.status, offer=_stored_offer(offer))
    else:
        facts = Facts(
            status=decision.status,
            outcome=Decision(record.outcome),
            risk_score=record.risk_score,
            risk_band=record.risk_band,
            credit_limit=record.credit_limit,
            interest_rate=record.interest_rate,
            credit_type=record.credit_type,
            reason_codes=record.reason_codes,
            offer=_stored_offer(offer),
            model_version=record.model_version,
            policy_version=record.policy_version,
        )
    return summarise(decision, facts, "database")
