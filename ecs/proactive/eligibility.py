"""Who may receive an unsolicited offer: one query, every rule in it.

A customer is eligible when they consented to emotion processing (the decision uses it), did
not opt out (``users.proactive_offers_opt_out``), is not erased, has enough history on the
lender's ledger (``ECS_PROACTIVE_MIN_HISTORY_DAYS`` since the oldest transaction and at least
``ECS_PROACTIVE_MIN_TRANSACTIONS``), has no open decision and no credit line (re-scoring active
lines is the re-evaluation's job), and had no decision denied, declined or left to expire in
the last ``ECS_PROACTIVE_DECLINE_COOLDOWN_DAYS`` (an ignored offer is an answer too: asking
again every run would be spam). Oldest customers first, so a bounded run is fair over runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, exists, func
from sqlmodel import Session, col, select

from ecs.db.tables import CreditAccount, CreditDecision, Transaction, User
from ecs.domain.status import OPEN_DECISION_STATUSES, DecisionStatus, Role
from ecs.settings import Settings

REFUSED = (DecisionStatus.DENIED, DecisionStatus.DECLINED, DecisionStatus.EXPIRED)


@dataclass(frozen=True)
class Rules:
    min_history_days: int
    min_transactions: int
    cooldown_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            settings.proactive_min_history_days,
            settings.proactive_min_transactions,
            settings.proactive_decline_cooldown_days,
        )


def eligible_users(
    engine: Engine,
    rules: Rules,
    now: datetime,
    limit: int,
    among: list[uuid.UUID] | None = None,
) -> list[uuid.UUID]:
    history = (
        select(Transaction.user_id)
        .group_by(col(Transaction.user_id))
        .having(func.count() >= rules.min_transactions)
        .having(func.min(Transaction.occurred_at) <= now - timedelta(days=rules.min_history_days))
    )
    decisions = select(CreditDecision.id).where(CreditDecision.user_id == User.id)
    open_decision = decisions.where(col(CreditDecision.status).in_(OPEN_DECISION_STATUSES))
    recent_refusal = decisions.where(
        col(CreditDecision.status).in_(REFUSED),
        CreditDecision.updated_at >= now - timedelta(days=rules.cooldown_days),
    )
    credit_line = select(CreditAccount.user_id).where(CreditAccount.user_id == User.id)
    query = select(User.id).where(
        User.role == Role.CUSTOMER,
        col(User.consent_emotion_processing).is_(True),
        col(User.proactive_offers_opt_out).is_(False),
        col(User.erased_at).is_(None),
        col(User.id).in_(history),
        ~exists(open_decision),
        ~exists(recent_refusal),
        ~exists(credit_line),
    )
    if among is not None:
        query = query.where(col(User.id).in_(among))
    with Session(engine) as session:
        return list(
            session.exec(query.order_by(col(User.created_at), col(User.id)).limit(limit)).all()
        )
