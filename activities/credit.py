"""The credit decision's activities: every read and write the workflow needs.

Each activity is idempotent, because Temporal retries it after a crash or timeout:
``approve`` keys its record on (decision, kind, sequence), ``deploy_credit`` moves the offer from
ACCEPTED to DEPLOYED in the same transaction that changes the account, and ``notify`` writes one
inbox row per (decision, kind).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.messages import (
    ApprovalResult,
    ApproveInput,
    DeployInput,
    DeployResult,
    FetchHistoryInput,
    HistorySnapshot,
    NotifyInput,
    SettleInput,
    StatusInput,
)
from activities.notifications import PushMessage, PushProvider
from ecs.contracts import OfferView
from ecs.db.tables import (
    CreditAccount,
    CreditDecision,
    DecisionRecord,
    EmotionDaily,
    EmotionEvent,
    Notification,
    Offer,
    Transaction,
    User,
)
from ecs.domain.features import (
    EmotionDay,
    EmotionSnapshot,
    Features,
    TransactionRecord,
    UserHistory,
    compute_features,
)
from ecs.domain.policy import CreditType, Decision, PolicyOutcome, decide
from ecs.domain.reasons import ReasonCode
from ecs.domain.status import DecisionStatus, OfferStatus, RecordKind
from ecs.logs import log_context
from ecs.risk.model import ModelUnavailable, RiskModel, RiskScore

log = logging.getLogger("ecs.activities")

HISTORY_DAYS = 90
EMOTION_DAYS = 30
MAX_TRANSACTIONS = 20_000  # a safety bound; features only need sums

_OUTCOME_STATUS = {
    Decision.APPROVED: DecisionStatus.OFFERED,
    Decision.DENIED: DecisionStatus.DENIED,
    Decision.REFERRED: DecisionStatus.REFERRED,
}
_SETTLED_STATUS = {
    "ACCEPTED": DecisionStatus.ACCEPTED,
    "DECLINED": DecisionStatus.DECLINED,
    "EXPIRED": DecisionStatus.EXPIRED,
}


def _not_found(what: str) -> ApplicationError:
    return ApplicationError(what, type="NotFound", non_retryable=True)


class CreditActivities:
    """Activities share one engine, one risk model and one push provider per worker process."""

    def __init__(self, engine: Engine, model: RiskModel, push: PushProvider) -> None:
        self.engine = engine
        self.model = model
        self.push = push

    # -- fetch_history -------------------------------------------------------------------------

    @activity.defn(name="fetch_history")
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
                raise _not_found(f"user {user_id} not found")
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

    # -- score ---------------------------------------------------------------------------------

    @activity.defn(name="score")
    async def score(self, features: Features) -> RiskScore:
        """Retryable on model failure; the workflow refers the decision when retries run out."""
        try:
            return await self.model.predict(features)
        except ModelUnavailable as exc:
            raise ApplicationError(
                f"risk model unavailable: {exc}", type="ModelUnavailable"
            ) from exc

    # -- approve -------------------------------------------------------------------------------

    @activity.defn(name="approve")
    def approve(self, inp: ApproveInput) -> ApprovalResult:
        """Apply the policy (or an analyst's review) and persist record, offer and status."""
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            outcome, kind, sequence = self._outcome_for(inp)
            decision_id = uuid.UUID(inp.decision_id)
            try:
                with Session(self.engine, expire_on_commit=False) as session:
                    self._persist_outcome(session, inp, outcome, kind, sequence)
                    offer = self._create_offer(session, inp, outcome)
                    self._set_status(session, decision_id, _OUTCOME_STATUS[outcome.decision])
                    session.commit()
            except IntegrityError:
                # A retry after a commit whose acknowledgement was lost: read back what was
                # stored. Any other integrity failure is a bug and must not be retried forever.
                existing = self._existing_result(decision_id, kind, sequence)
                if existing is None:
                    raise
                return existing
            log.info(
                "decision recorded",
                extra={"outcome": outcome.decision.value, "band": outcome.risk_band},
            )
            return ApprovalResult(outcome=outcome, offer=offer)

    @staticmethod
    def _outcome_for(inp: ApproveInput) -> tuple[PolicyOutcome, RecordKind, int]:
        if inp.review is None:
            outcome = decide(inp.features, inp.score)
            return outcome, RecordKind.AUTOMATED, 0
        review, prior = inp.review, inp.prior
        if not review.approve:
            codes = [*(prior.reason_codes if prior else []), ReasonCode.MANUAL_REVIEW][-4:]
            outcome = PolicyOutcome(
                decision=Decision.DENIED,
                risk_band=prior.risk_band if prior else None,
                credit_limit=Decimal("0"),
                interest_rate=Decimal("0"),
                credit_type=None,
                reason_codes=list(dict.fromkeys(codes)),
                policy_version=prior.policy_version if prior else "manual",
            )
            return outcome, RecordKind.REVIEW, 1
        assert review.credit_limit and review.interest_rate and review.credit_type
        outcome = PolicyOutcome(
            decision=Decision.APPROVED,
            risk_band=prior.risk_band if prior else None,
            credit_limit=review.credit_limit,
            interest_rate=review.interest_rate,
            credit_type=CreditType(review.credit_type),
            reason_codes=[ReasonCode.MANUAL_REVIEW],
            policy_version=prior.policy_version if prior else "manual",
        )
        return outcome, RecordKind.REVIEW, 1

    @staticmethod
    def _persist_outcome(
        session: Session,
        inp: ApproveInput,
        outcome: PolicyOutcome,
        kind: RecordKind,
        sequence: int,
    ) -> None:
        session.add(
            DecisionRecord(
                decision_id=uuid.UUID(inp.decision_id),
                user_id=uuid.UUID(inp.user_id),
                kind=kind,
                sequence=sequence,
                outcome=outcome.decision.value,
                features=inp.features.model_dump(mode="json"),
                model_name=inp.score.model_name if inp.score else None,
                model_version=inp.score.model_version if inp.score else None,
                risk_score=inp.score.score if inp.score else None,
                risk_band=outcome.risk_band.value if outcome.risk_band else None,
                policy_version=outcome.policy_version,
                credit_limit=outcome.credit_limit,
                interest_rate=outcome.interest_rate,
                credit_type=outcome.credit_type.value if outcome.credit_type else None,
                reason_codes=[c.value for c in outcome.reason_codes],
                reviewer_id=uuid.UUID(inp.review.reviewer_id) if inp.review else None,
                comment=inp.review.comment if inp.review else inp.score_error,
            )
        )
        session.flush()

    @staticmethod
    def _create_offer(
        session: Session, inp: ApproveInput, outcome: PolicyOutcome
    ) -> OfferView | None:
        if outcome.decision is not Decision.APPROVED or outcome.credit_type is None:
            return None
        offer = Offer(
            decision_id=uuid.UUID(inp.decision_id),
            user_id=uuid.UUID(inp.user_id),
            credit_limit=outcome.credit_limit,
            interest_rate=outcome.interest_rate,
            credit_type=outcome.credit_type.value,
            expires_at=inp.offer_expires_at,
        )
        session.add(offer)
        session.flush()
        return _offer_view(offer)

    def _existing_result(
        self, decision_id: uuid.UUID, kind: RecordKind, sequence: int
    ) -> ApprovalResult | None:
        with Session(self.engine) as session:
            record = session.exec(
                select(DecisionRecord).where(
                    DecisionRecord.decision_id == decision_id,
                    DecisionRecord.kind == kind,
                    DecisionRecord.sequence == sequence,
                )
            ).first()
            if record is None:
                return None
            offer = session.exec(select(Offer).where(Offer.decision_id == decision_id)).first()
            outcome = PolicyOutcome(
                decision=Decision(record.outcome),
                risk_band=record.risk_band,
                credit_limit=record.credit_limit,
                interest_rate=record.interest_rate,
                credit_type=record.credit_type,
                reason_codes=record.reason_codes,
                policy_version=record.policy_version,
            )
            return ApprovalResult(outcome=outcome, offer=_offer_view(offer) if offer else None)

    # -- status projection ---------------------------------------------------------------------

    @activity.defn(name="record_status")
    def record_status(self, inp: StatusInput) -> None:
        """Mirror the workflow's state into the decision header (listing reads the database)."""
        with Session(self.engine) as session:
            self._set_status(session, uuid.UUID(inp.decision_id), inp.status)
            session.commit()

    @staticmethod
    def _set_status(session: Session, decision_id: uuid.UUID, status: DecisionStatus) -> None:
        result = session.execute(
            update(CreditDecision)
            .where(col(CreditDecision.id) == decision_id)
            .values(status=status, updated_at=datetime.now(UTC))
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise _not_found(f"decision {decision_id} not found")

    # -- settle_offer --------------------------------------------------------------------------

    @activity.defn(name="settle_offer")
    def settle_offer(self, inp: SettleInput) -> None:
        """OPEN → ACCEPTED / DECLINED / EXPIRED, once; a retry finds it already settled."""
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            session.execute(
                update(Offer)
                .where(col(Offer.id) == uuid.UUID(inp.offer_id), col(Offer.status) == "OPEN")
                .values(status=OfferStatus(inp.outcome), settled_at=now)
            )
            self._set_status(session, uuid.UUID(inp.decision_id), _SETTLED_STATUS[inp.outcome])
            session.commit()

    # -- deploy_credit -------------------------------------------------------------------------

    @activity.defn(name="deploy_credit")
    def deploy_credit(self, inp: DeployInput) -> DeployResult:
        """Exactly-once account change: the ACCEPTED→DEPLOYED transition guards the upsert."""
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            offer_id, user_id = uuid.UUID(inp.offer_id), uuid.UUID(inp.user_id)
            now = datetime.now(UTC)
            with Session(self.engine, expire_on_commit=False) as session:
                moved = session.execute(
                    update(Offer)
                    .where(col(Offer.id) == offer_id, col(Offer.status) == "ACCEPTED")
                    .values(status=OfferStatus.DEPLOYED)
                ).rowcount  # type: ignore[attr-defined]
                offer = session.get(Offer, offer_id)
                if offer is None or offer.user_id != user_id:
                    raise _not_found(f"offer {offer_id} not found for this user")
                if moved == 0 and offer.status != OfferStatus.DEPLOYED:
                    raise ApplicationError(
                        f"offer {offer_id} is {offer.status}, not ACCEPTED",
                        type="OfferNotAccepted",
                        non_retryable=True,
                    )
                account = session.get(CreditAccount, user_id)
                if moved:
                    if account is None:
                        account = CreditAccount(
                            user_id=user_id,
                            credit_limit=offer.credit_limit,
                            interest_rate=offer.interest_rate,
                            credit_type=offer.credit_type,
                            offer_id=offer.id,
                            activated_at=now,
                            updated_at=now,
                        )
                    else:
                        account.credit_limit = offer.credit_limit
                        account.interest_rate = offer.interest_rate
                        account.credit_type = offer.credit_type
                        account.offer_id = offer.id
                        account.activated_at = now
                        account.updated_at = now
                    session.add(account)
                    self._set_status(session, uuid.UUID(inp.decision_id), DecisionStatus.ACTIVE)
                session.commit()
                assert account is not None
            log.info("credit deployed", extra={"newly_deployed": bool(moved)})
            return DeployResult(
                credit_limit=account.credit_limit,
                interest_rate=account.interest_rate,
                credit_type=account.credit_type,
                activated_at=account.activated_at,
                newly_deployed=bool(moved),
            )

    # -- notify --------------------------------------------------------------------------------

    @activity.defn(name="notify")
    def notify(self, inp: NotifyInput) -> None:
        """Write the in-app inbox row once, then push; a retry re-pushes at most (harmless)."""
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            with Session(self.engine) as session:
                exists = session.exec(
                    select(Notification.id).where(Notification.dedup_key == inp.dedup_key)
                ).first()
                if exists is None:
                    session.add(
                        Notification(
                            user_id=uuid.UUID(inp.user_id),
                            dedup_key=inp.dedup_key,
                            kind=inp.kind,
                            title=inp.title,
                            body=inp.body,
                            data=inp.data,
                            decision_id=uuid.UUID(inp.decision_id),
                        )
                    )
                    try:
                        session.commit()
                    except IntegrityError:
                        session.rollback()  # a concurrent attempt won; same row either way
            self.push.send(PushMessage(inp.user_id, inp.title, inp.body, inp.dedup_key))


def _offer_view(offer: Offer) -> OfferView:
    return OfferView(
        offer_id=str(offer.id),
        credit_limit=offer.credit_limit,
        interest_rate=offer.interest_rate,
        credit_type=offer.credit_type,
        expires_at=offer.expires_at,
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
