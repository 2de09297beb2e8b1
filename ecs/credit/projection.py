"""Closing the database records of a decision whose workflow died.

The workflow keeps ``credit_decisions.status`` and the offer's status up to date itself, through
activities. A workflow that ends without doing so (an operator terminated it, a bug failed it,
an erasure ended it) leaves an open header, which would block the user's next request forever
(one open decision per user is a database rule), and possibly an OPEN offer, which would block
their next offer (one open offer per user). This is the one place that closes both: the header
becomes FAILED, the offer EXPIRED. It takes the caller's session, so a larger transaction (the
erasure of an account) can include it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from ecs.db.tables import CreditDecision, Offer
from ecs.db.types import utcnow
from ecs.domain.status import OPEN_DECISION_STATUSES, DecisionStatus, OfferStatus


def close_dead(
    session: Session, decision_ids: Collection[uuid.UUID], now: datetime | None = None
) -> None:
    """Mark still-open decisions FAILED and their open offers EXPIRED (no commit).

    Only open rows change, so closing twice, or after the workflow managed to record its end
    after all, is harmless.
    """
    if not decision_ids:
        return
    now = now or utcnow()
    session.execute(
        update(CreditDecision)
        .where(
            col(CreditDecision.id).in_(decision_ids),
            col(CreditDecision.status).in_(OPEN_DECISION_STATUSES),
        )
        .values(status=DecisionStatus.FAILED, updated_at=now)
    )
    session.execute(
        update(Offer)
        .where(col(Offer.decision_id).in_(decision_ids), col(Offer.status) == OfferStatus.OPEN)
        .values(status=OfferStatus.EXPIRED, settled_at=now)
    )
