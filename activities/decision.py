"""``score`` and ``approve``: the model's call, then the policy (or an analyst) decides.

``approve`` is idempotent under retry: its record is keyed on (decision, kind, sequence), so a
retry after a commit whose acknowledgement was lost reads back what was stored. A review whose
reviewer is not an active analyst fails for good (``InvalidReview``) instead of being retried
forever: the workflow drops that review and waits for a valid one.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.interface import INVALID_REVIEW, Decisions
from activities.messages import ApprovalResult, ApproveInput
from activities.status import set_decision_status
from ecs.contracts import OfferView
from ecs.db.tables import CreditDecision, DecisionRecord, Offer, User
from ecs.domain.features import Features
from ecs.domain.policy import OUTCOME_STATUS, CreditType, Decision, PolicyOutcome, decide
from ecs.domain.reasons import ReasonCode
from ecs.domain.status import RecordKind, Role
from ecs.logs import log_context
from ecs.observability import MODEL_BREAKER_OPEN
from ecs.risk.breaker import BreakerState, CircuitBreaker
from ecs.risk.model import ModelUnavailable, RiskModel, RiskScore

log = logging.getLogger("ecs.activities")


def _report_breaker(model: RiskModel) -> None:
    """``ecs_model_breaker_open``: 1 while the remote model's breaker is open (always 0 for the
    in-process scorecard, which has none), through the SDK's meter on the worker's endpoint."""
    breaker = getattr(model, "breaker", None)
    is_open = isinstance(breaker, CircuitBreaker) and breaker.state is BreakerState.OPEN
    activity.metric_meter().create_gauge(
        MODEL_BREAKER_OPEN, "1 while the risk model's circuit breaker is open"
    ).set(int(is_open))


class DecisionActivities(Decisions):
    """One engine and one risk model per worker process."""

    def __init__(self, engine: Engine, model: RiskModel) -> None:
        self.engine = engine
        self.model = model

    @activity.defn
    async def score(self, features: Features) -> RiskScore:
        """Retryable on model failure; the workflow refers the decision when retries run out."""
        try:
            return await self.model.predict(features)
        except ModelUnavailable as exc:
            raise ApplicationError(
                f"risk model unavailable: {exc}", type="ModelUnavailable"
            ) from exc
        finally:
            _report_breaker(self.model)

    @activity.defn
    def approve(self, inp: ApproveInput) -> ApprovalResult:
        """Apply the policy (or an analyst's review) and persist record, offer and status."""
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            outcome, kind, sequence = _outcome_for(inp)
            decision_id = uuid.UUID(inp.decision_id)
            try:
                with Session(self.engine, expire_on_commit=False) as session:
                    if inp.review is not None:
                        check_reviewer(session, inp.review.reviewer_id, inp.user_id)
                    if inp.confirmation is not None:
                        assert inp.review is not None
                        check_reviewer(
                            session,
                            inp.confirmation.reviewer_id,
                            inp.user_id,
                            proposer_id=inp.review.reviewer_id,
                        )
                    _persist_outcome(session, inp, outcome, kind, sequence)
                    offer = _create_offer(session, inp, outcome)
                    set_decision_status(session, decision_id, OUTCOME_STATUS[outcome.decision])
                    if outcome.decision is Decision.REFERRED and inp.review_due_at is not None:
                        session.execute(
                            update(CreditDecision)
                            .where(col(CreditDecision.id) == decision_id)
                            .values(review_due_at=inp.review_due_at)
                        )
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


def check_reviewer(
    session: Session, reviewer_id: str, applicant_id: str, *, proposer_id: str | None = None
) -> None:
    """Only an active analyst other than the applicant (and, confirming a four-eyes approval,
    other than its proposer) reviews (checked with I/O here; the workflow's validator already
    refused what it could check without I/O)."""
    try:
        reviewer = session.get(User, uuid.UUID(reviewer_id))
    except ValueError:  # not an id at all
        reviewer = None
    if (
        reviewer is None
        or reviewer.erased_at is not None
        or reviewer.role != Role.ANALYST
        or reviewer.id == uuid.UUID(applicant_id)
        or (proposer_id is not None and reviewer.id == uuid.UUID(proposer_id))
    ):
        raise ApplicationError(
            f"reviewer {reviewer_id!r} is not an analyst who may review this decision",
            type=INVALID_REVIEW,
            non_retryable=True,
        )


def _outcome_for(inp: ApproveInput) -> tuple[PolicyOutcome, RecordKind, int]:
    if inp.review is None:
        return decide(inp.features, inp.score, inp.cooling_off), RecordKind.AUTOMATED, 0
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


def _persist_outcome(
    session: Session, inp: ApproveInput, outcome: PolicyOutcome, kind: RecordKind, sequence: int
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
            contributions=inp.score.contributions if inp.score else {},
            reviewer_id=uuid.UUID(inp.review.reviewer_id) if inp.review else None,
            comment=inp.review.comment if inp.review else inp.score_error,
        )
    )
    if inp.confirmation is not None:  # four-eyes: the second analyst, in the same commit
        session.add(
            DecisionRecord(
                decision_id=uuid.UUID(inp.decision_id),
                user_id=uuid.UUID(inp.user_id),
                kind=RecordKind.CONFIRMATION,
                sequence=inp.proposal_sequence,
                outcome="CONFIRMED",
                policy_version=outcome.policy_version,
                credit_limit=outcome.credit_limit,
                interest_rate=outcome.interest_rate,
                credit_type=outcome.credit_type.value if outcome.credit_type else None,
                reviewer_id=uuid.UUID(inp.confirmation.reviewer_id),
                comment=inp.confirmation.comment,
            )
        )
    session.flush()


def _create_offer(session: Session, inp: ApproveInput, outcome: PolicyOutcome) -> OfferView | None:
    """The decision's one offer: new, or (a contested offer's review) revised to the analyst's
    terms with a fresh expiry; the terms it had are in the AUTOMATED record."""
    if outcome.decision is not Decision.APPROVED or outcome.credit_type is None:
        return None
    existing = session.exec(
        select(Offer).where(Offer.decision_id == uuid.UUID(inp.decision_id))
    ).first()
    if existing is not None:
        existing.credit_limit = outcome.credit_limit
        existing.interest_rate = outcome.interest_rate
        existing.credit_type = outcome.credit_type.value
        existing.expires_at = inp.offer_expires_at
        session.add(existing)
        session.flush()
        return _offer_view(existing)
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


def _offer_view(offer: Offer) -> OfferView:
    return OfferView(
        offer_id=str(offer.id),
        credit_limit=offer.credit_limit,
        interest_rate=offer.interest_rate,
        credit_type=offer.credit_type,
        expires_at=offer.expires_at,
    )
