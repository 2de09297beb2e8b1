"""``fetch_history``: the lender's own records of a user, reduced to features.

Transactions come from the bank's ledger feed (never from the borrower); emotion aggregates are
read only with the user's consent. Raw rows never leave this activity: the workflow history
holds the feature snapshot, nothing more.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio import activity

from activities.interface import History
from activities.messages import FetchHistoryInput, HistorySnapshot
from activities.status import not_found
from ecs.db.tables import CreditAccount, EmotionDaily, EmotionEvent, Transaction, User
from ecs.domain.features import (
    EmotionDay,
    EmotionSnapshot,
    TransactionRecord,
    UserHistory,
    compute_features,
)
from ecs.logs import log_context

log = logging.getLogger("ecs.activities")

HISTORY_DAYS = 90
EMOTION_DAYS = 30
MAX_TRANSACTIONS = 20_000  # a safety bound; features only need sums


class HistoryActivities(History):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def fetch_history(self, inp: FetchHistoryInput) -> HistorySnapshot:
        """Read the user's history and reduce it to features (raw rows never enter history)."""
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            history = self._load_history(uuid.UUID(inp.user_id), inp.as_of)
            features = compute_features(history)
            latest = history.latest_emotion
            log.info("history fetched", extra={"transactions": len(history.transactions)})
            return HistorySnapshot(
                features=features,
                latest_emotion_at=latest.occurred_at if latest else None,
            )

    def _load_history(self, user_id: uuid.UUID, as_of: datetime) -> UserHistory:
        since = as_of - timedelta(days=HISTORY_DAYS)
        with Session(self.engine) as session:
            user = session.get(User, user_id)
            if user is None or user.erased_at is not None:
                raise not_found(f"user {user_id} not found")
            txs = session.exec(
                select(Transaction)
                .where(Transaction.user_id == user_id)
                .where(Transaction.occurred_at > since, Transaction.occurred_at <= as_of)
                .order_by(col(Transaction.occurred_at).desc())
                .limit(MAX_TRANSACTIONS)
            ).all()
            first_tx = session.exec(
                select(func.min(Transaction.occurred_at)).where(Transaction.user_id == user_id)
            ).one()
            account = session.get(CreditAccount, user_id)
            days: list[EmotionDaily] = []
            latest: EmotionEvent | None = None
            if user.consent_emotion_processing:
                days = list(
                    session.exec(
                        select(EmotionDaily)
                        .where(EmotionDaily.user_id == user_id)
                        .where(EmotionDaily.day > (as_of - timedelta(days=EMOTION_DAYS)).date())
                    ).all()
                )
                latest = session.exec(
                    select(EmotionEvent)
                    .where(EmotionEvent.user_id == user_id, EmotionEvent.occurred_at <= as_of)
                    .order_by(col(EmotionEvent.occurred_at).desc())
                    .limit(1)
                ).first()
        # The bank account predates registration in ECS: its age counts from the oldest
        # transaction the bank shared, or from registration if that is older.
        opened = user.created_at if first_tx is None else min(user.created_at, _utc(first_tx))
        return UserHistory(
            user_id=str(user_id),
            as_of=as_of,
            account_created_at=min(opened, as_of),
            transactions=[
                TransactionRecord(amount=t.amount, direction=t.direction, occurred_at=t.occurred_at)
                for t in txs
            ],
            credit_exposure=account.credit_limit if account else Decimal("0"),
            emotion_days=[
                EmotionDay(
                    day=d.day,
                    readings=d.readings,
                    positivity_sum=d.positivity_sum,
                    intensity_sum=d.intensity_sum,
                    stress_sum=d.stress_sum,
                    distress_count=d.distress_count,
                )
                for d in days
            ],
            latest_emotion=None
            if latest is None
            else EmotionSnapshot(
                event_id=str(latest.event_id),
                occurred_at=latest.occurred_at,
                kind=latest.kind,
                positivity=latest.positivity,
                intensity=latest.intensity,
                stress=latest.stress,
            ),
        )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
