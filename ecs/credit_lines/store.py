"""The SQL of re-evaluation: which lines are due, the append-only change rows, applying one.

A line is due when its owner still consents to emotion processing (the score uses it), is not
erased, has no review waiting on notice or on an answer, and its latest change (or, never
reviewed, its activation) is at least ``ECS_REEVALUATION_INTERVAL_DAYS`` old. Least recently
reviewed first, so a bounded run is fair over runs. Every write is idempotent per (workflow,
kind): a retried activity finds its row and appends nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, and_, exists, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ecs.credit_lines.contract import (
    CLOSING_KINDS,
    PENDING_KINDS,
    ApplyResult,
    ChangeKind,
    RecordInput,
)
from ecs.db.tables import CreditAccount, CreditLineChange, User
from ecs.db.types import utcnow


def due_lines(
    engine: Engine,
    now: datetime,
    interval: timedelta,
    limit: int,
    among: list[uuid.UUID] | None = None,
) -> list[uuid.UUID]:
    later = aliased(CreditLineChange)
    pending = select(CreditLineChange.id).where(
        CreditLineChange.account_id == CreditAccount.user_id,
        col(CreditLineChange.kind).in_([k.value for k in PENDING_KINDS]),
        ~exists(
            select(later.id).where(
                later.workflow_id == CreditLineChange.workflow_id,
                col(later.kind).in_([k.value for k in CLOSING_KINDS]),
            )
        ),
    )
    last_review = (
        select(func.max(CreditLineChange.created_at))
        .where(CreditLineChange.account_id == CreditAccount.user_id)
        .scalar_subquery()
    )
    since = func.coalesce(last_review, CreditAccount.activated_at)
    query = (
        select(CreditAccount.user_id)
        .join(User, and_(col(User.id) == CreditAccount.user_id))
        .where(
            col(User.consent_emotion_processing).is_(True),
            col(User.erased_at).is_(None),
            ~exists(pending),
            since <= now - interval,
        )
        .order_by(since, col(CreditAccount.user_id))
        .limit(limit)
    )
    if among is not None:
        query = query.where(col(CreditAccount.user_id).in_(among))
    with Session(engine) as session:
        return list(session.exec(query).all())


def _row(inp: RecordInput, workflow_id: str) -> CreditLineChange:
    p = inp.proposal
    return CreditLineChange(
        account_id=uuid.UUID(inp.account_id),
        kind=inp.kind.value,
        old_limit=p.old_limit,
        new_limit=p.new_limit,
        old_rate=p.old_rate,
        new_rate=p.new_rate,
        effective_at=inp.effective_at,
        workflow_id=workflow_id,
        model_version=p.model_version,
        policy_version=p.policy_version,
    )


def _existing(session: Session, workflow_id: str, kind: str) -> CreditLineChange | None:
    return session.exec(
        select(CreditLineChange).where(
            CreditLineChange.workflow_id == workflow_id, CreditLineChange.kind == kind
        )
    ).first()


def record(engine: Engine, inp: RecordInput, workflow_id: str) -> None:
    with Session(engine) as session:
        if _existing(session, workflow_id, inp.kind.value) is None:
            session.add(_row(inp, workflow_id))
            session.commit()


def apply(engine: Engine, inp: RecordInput, workflow_id: str) -> ApplyResult:
    """New limit and rate on the line the review was made on; superseded if it was replaced."""
    p = inp.proposal
    with Session(engine) as session:
        account = session.exec(
            select(CreditAccount)
            .where(CreditAccount.user_id == uuid.UUID(inp.account_id))
            .with_for_update()
        ).first()
        done = _existing(session, workflow_id, inp.kind.value)
        if done is not None or account is None or str(account.offer_id) != p.offer_id:
            # Superseded once: a retry (the first answer was lost) finds the row it wrote.
            superseded = _existing(session, workflow_id, ChangeKind.SUPERSEDED.value)
            if done is None and account is not None and superseded is None:
                session.add(
                    _row(inp.model_copy(update={"kind": ChangeKind.SUPERSEDED}), workflow_id)
                )
                session.commit()
            return ApplyResult(
                applied=done is not None,
                credit_limit=account.credit_limit if account else Decimal(0),
                interest_rate=account.interest_rate if account else Decimal(0),
            )
        account.credit_limit = p.new_limit
        account.interest_rate = p.new_rate
        account.updated_at = utcnow()
        session.add(account)
        session.add(_row(inp, workflow_id))
        session.commit()
        return ApplyResult(applied=True, credit_limit=p.new_limit, interest_rate=p.new_rate)


def changes(engine: Engine, account_id: uuid.UUID) -> list[CreditLineChange]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(CreditLineChange)
                .where(CreditLineChange.account_id == account_id)
                .order_by(col(CreditLineChange.created_at), col(CreditLineChange.id))
            ).all()
        )


def pending_offer_workflow(engine: Engine, account_id: uuid.UUID) -> str | None:
    """The workflow id of the line's open increase offer, if any."""
    later = aliased(CreditLineChange)
    with Session(engine) as session:
        return session.exec(
            select(CreditLineChange.workflow_id)
            .where(
                CreditLineChange.account_id == account_id,
                CreditLineChange.kind == ChangeKind.INCREASE_OFFERED.value,
                ~exists(
                    select(later.id).where(
                        later.workflow_id == CreditLineChange.workflow_id,
                        col(later.kind).in_([k.value for k in CLOSING_KINDS]),
                    )
                ),
            )
            .order_by(col(CreditLineChange.created_at).desc())
        ).first()


def applied_increase(engine: Engine, account_id: uuid.UUID) -> CreditLineChange | None:
    """The line's latest change if it is an applied increase: what a repeated accept (a retry
    after a lost answer) answers with, until the line is reviewed again."""
    with Session(engine) as session:
        latest = session.exec(
            select(CreditLineChange)
            .where(CreditLineChange.account_id == account_id)
            .order_by(col(CreditLineChange.created_at).desc(), col(CreditLineChange.id).desc())
        ).first()
    if latest is None or latest.kind != ChangeKind.INCREASE_APPLIED.value:
        return None
    return latest
