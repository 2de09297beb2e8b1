"""Human review's I/O: open a contest, record a four-eyes step, escalate an overdue review.

Each writes an append-only ``decision_records`` row keyed on (decision, kind, sequence) together
with the decision header's move, in one commit; a retry after a commit whose acknowledgement
was lost meets the unique key and reads as done. ``open_contest`` is the one place that can
refuse for good: a contested denial becomes an open decision again, and a customer has at most
one open decision (the partial unique index), so a contest while another decision is open fails
with ``OtherDecisionOpen`` and the workflow answers the customer with it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.decision import check_reviewer
from activities.interface import OTHER_DECISION_OPEN, Reviews
from activities.messages import ContestInput, EscalateInput, ReviewStepInput
from ecs.db.tables import CreditDecision, DecisionRecord
from ecs.domain.status import OPEN_DECISION_STATUSES, DecisionStatus, RecordKind
from ecs.logs import log_context
from ecs.notifications.analysts import notify_analysts
from ecs.notifications.events import EventPublisher

log = logging.getLogger("ecs.activities")

ANALYST_NOTICE_KIND = "review_overdue"


def _other_decision_open() -> ApplicationError:
    return ApplicationError(
        "you have another credit decision open: finish it (accept, decline or let it expire) "
        "before contesting this one",
        type=OTHER_DECISION_OPEN,
        non_retryable=True,
    )


def _recorded(session: Session, decision_id: uuid.UUID, kind: RecordKind, sequence: int) -> bool:
    return (
        session.exec(
            select(DecisionRecord.id).where(
                DecisionRecord.decision_id == decision_id,
                DecisionRecord.kind == kind,
                DecisionRecord.sequence == sequence,
            )
        ).first()
        is not None
    )


def _move(
    session: Session, decision_id: uuid.UUID, status: DecisionStatus, **values: object
) -> None:
    session.execute(
        update(CreditDecision)
        .where(col(CreditDecision.id) == decision_id)
        .values(status=status, updated_at=datetime.now(UTC), **values)
    )


class ReviewActivities(Reviews):
    def __init__(self, engine: Engine, events: EventPublisher | None = None) -> None:
        self.engine = engine
        self.events = events  # None: analysts' streams catch up from the inbox

    @activity.defn
    def open_contest(self, inp: ContestInput) -> None:
        decision_id, user_id = uuid.UUID(inp.decision_id), uuid.UUID(inp.user_id)
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            with Session(self.engine) as session:
                if _recorded(session, decision_id, RecordKind.CONTEST, 1):
                    return  # a retry of a commit that happened
                other = session.exec(
                    select(CreditDecision.id).where(
                        CreditDecision.user_id == user_id,
                        CreditDecision.id != decision_id,
                        col(CreditDecision.status).in_(list(OPEN_DECISION_STATUSES)),
                    )
                ).first()
                if other is not None:
                    raise _other_decision_open()
                session.add(
                    DecisionRecord(
                        decision_id=decision_id,
                        user_id=user_id,
                        kind=RecordKind.CONTEST,
                        sequence=1,
                        outcome=DecisionStatus.CONTESTED.value,
                        policy_version="contest",
                        comment=inp.reason,
                    )
                )
                _move(
                    session,
                    decision_id,
                    DecisionStatus.CONTESTED,
                    review_due_at=inp.review_due_at,
                    escalated_at=None,
                )
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    if _recorded(session, decision_id, RecordKind.CONTEST, 1):
                        return
                    raise _other_decision_open() from None  # lost the race to a new decision
            log.info("decision contested", extra={"decision_id": inp.decision_id})

    @activity.defn
    def record_review_step(self, inp: ReviewStepInput) -> None:
        decision_id = uuid.UUID(inp.decision_id)
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            with Session(self.engine) as session:
                if _recorded(session, decision_id, inp.kind, inp.sequence):
                    return
                check_reviewer(session, inp.reviewer_id, inp.user_id, proposer_id=inp.proposer_id)
                session.add(
                    DecisionRecord(
                        decision_id=decision_id,
                        user_id=uuid.UUID(inp.user_id),
                        kind=inp.kind,
                        sequence=inp.sequence,
                        outcome=inp.outcome,
                        policy_version="four-eyes",
                        credit_limit=inp.credit_limit or Decimal("0"),
                        interest_rate=inp.interest_rate or Decimal("0"),
                        credit_type=inp.credit_type,
                        reviewer_id=uuid.UUID(inp.reviewer_id),
                        comment=inp.comment,
                    )
                )
                _move(session, decision_id, inp.status)
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    if not _recorded(session, decision_id, inp.kind, inp.sequence):
                        raise
            log.info(
                "review step recorded",
                extra={"kind": inp.kind.value, "outcome": inp.outcome, "status": inp.status.value},
            )

    @activity.defn
    def escalate_review(self, inp: EscalateInput) -> None:
        """The flag and its record in one commit, then one inbox row per active analyst (each
        idempotent on its own key), published live like any notification."""
        decision_id = uuid.UUID(inp.decision_id)
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            with Session(self.engine) as session:
                if not _recorded(session, decision_id, RecordKind.ESCALATION, 1):
                    session.add(
                        DecisionRecord(
                            decision_id=decision_id,
                            user_id=uuid.UUID(inp.user_id),
                            kind=RecordKind.ESCALATION,
                            sequence=1,
                            outcome=inp.status.value,
                            policy_version="deadline",
                            comment=f"undecided at its deadline {inp.review_due_at.isoformat()}",
                        )
                    )
                    session.execute(
                        update(CreditDecision)
                        .where(col(CreditDecision.id) == decision_id)
                        .values(escalated_at=datetime.now(UTC))
                    )
                    try:
                        session.commit()
                    except IntegrityError:
                        session.rollback()
            told = notify_analysts(
                self.engine,
                self.events,
                key=inp.decision_id,
                kind=ANALYST_NOTICE_KIND,
                title="A review is overdue",
                body=f"Decision {inp.decision_id} ({inp.status.value}) passed its review "
                f"deadline {inp.review_due_at:%Y-%m-%d %H:%M} UTC.",
                data={"decision_id": inp.decision_id, "status": inp.status.value},
            )
            log.warning(
                "review escalated",
                extra={"decision_id": inp.decision_id, "analysts_notified": told},
            )
