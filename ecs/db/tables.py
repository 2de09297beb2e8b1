"""SQLModel tables: the system of record.

Temporal owns the *process*; these tables own the *facts* (who the user is, what money moved, what
was decided and why). Listing and analytics read here, never Temporal visibility, because
visibility is eventually consistent and holds no business data.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    bindparam,
    event,
    false,
    func,
    select,
    text,
    update,
)
from sqlmodel import Field, SQLModel

from ecs.db.types import UTCDateTime, utcnow
from ecs.domain.status import OPEN_DECISION_SQL, DecisionStatus, OfferStatus, RecordKind, Role

MONEY = Numeric(14, 2)
RATE = Numeric(7, 4)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(sa_type=String(320), unique=True, index=True)
    password_hash: str = Field(sa_type=String(255))
    role: Role = Field(default=Role.CUSTOMER, sa_type=String(16))
    consent_emotion_processing: bool = Field(default=False)
    consent_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    # The customer declined unsolicited offers (``PUT /v1/me/proactive-offers``); see
    # ``ecs.proactive``. Asking for credit themselves is never affected.
    proactive_offers_opt_out: bool = Field(
        default=False, sa_column_kwargs={"server_default": false()}
    )


class CreditAccount(SQLModel, table=True):
    """The user's active credit line: one row per user, replaced when a new offer is deployed."""

    __tablename__ = "credit_accounts"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    credit_limit: Decimal = Field(sa_type=MONEY)
    interest_rate: Decimal = Field(sa_type=RATE)
    credit_type: str = Field(sa_type=String(16))
    offer_id: uuid.UUID = Field(foreign_key="offers.id", unique=True)
    activated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class CreditLineChange(SQLModel, table=True):
    """Append-only history of a credit line's re-evaluations (``ecs.credit_lines``).

    One row per step of a review (no change, decrease noticed, decrease applied, increase
    offered, accepted or expired, flagged): never updated, never deleted while the line exists.
    ``(workflow_id, kind)`` is unique so a retried activity appends nothing twice.
    """

    __tablename__ = "credit_line_changes"
    __table_args__ = (
        UniqueConstraint("workflow_id", "kind", name="uq_credit_line_changes_step"),
        Index("ix_credit_line_changes_account_time", "account_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="credit_accounts.user_id", ondelete="CASCADE")
    kind: str = Field(sa_type=String(24))
    old_limit: Decimal = Field(sa_type=MONEY)
    new_limit: Decimal = Field(sa_type=MONEY)
    old_rate: Decimal = Field(sa_type=RATE)
    new_rate: Decimal = Field(sa_type=RATE)
    effective_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    workflow_id: str = Field(sa_type=String(160))
    model_version: str | None = Field(default=None, sa_type=String(64))
    policy_version: str = Field(sa_type=String(32))


class Transaction(SQLModel, table=True):
    """One money movement from the lender's ledger (``ecs.ledger``), never from the customer.

    ``ledger_id`` is the ledger's own transaction id: its unique index makes a replayed feed batch
    a no-op. Rows from before the feed existed (customer-posted) have none.
    """

    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_user_time", "user_id", "occurred_at"),
        Index("uq_transactions_ledger_id", "ledger_id", unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    amount: Decimal = Field(sa_type=MONEY)
    direction: str = Field(sa_type=String(3))  # "in" | "out"
    description: str | None = Field(default=None, sa_type=String(200))
    occurred_at: datetime = Field(sa_type=UTCDateTime())
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    ledger_id: str | None = Field(default=None, sa_type=String(64))
    currency: str | None = Field(default=None, sa_type=String(3))


class EmotionEvent(SQLModel, table=True):
    """One raw reading. The user's client-chosen event id is the key: redelivery is a no-op.

    Event ids are unique per user, not per table (migration 0007): another user sending the same
    id is another reading, never a "duplicate" that pre-empts this one. On PostgreSQL the table is
    partitioned by day of ``occurred_at`` (migration 0004), its primary key is
    ``(user_id, occurred_at, event_id)``, which serves as both indexes below, and it has no
    foreign key to users (migration 0009: the consumer checks users itself); the model keeps the
    SQLite shape ``(event_id, user_id)``, which is also what the ORM needs to identify a row.
    """

    __tablename__ = "emotion_events"
    __table_args__ = (
        Index("ix_emotion_events_user_time", "user_id", "occurred_at"),
        Index("ix_emotion_events_occurred_at", "occurred_at"),  # retention deletes by age
    )

    event_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    occurred_at: datetime = Field(sa_type=UTCDateTime())
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    kind: str = Field(sa_type=String(32))
    positivity: float
    intensity: float
    stress: float
    context: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class EmotionDaily(SQLModel, table=True):
    """Per-user daily sums: features and dashboards read these instead of scanning raw rows."""

    __tablename__ = "emotion_daily"
    __table_args__ = (Index("ix_emotion_daily_day", "day"),)

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    day: date = Field(primary_key=True)
    readings: int = 0
    positivity_sum: float = 0.0
    intensity_sum: float = 0.0
    stress_sum: float = 0.0
    distress_count: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class CreditDecision(SQLModel, table=True):
    """Header of one credit decision (one Temporal workflow).

    ``status`` is a projection of the workflow's state kept for listing; the facts of the decision
    live in append-only ``decision_records``. The partial unique index makes "one open decision per
    user" a database guarantee rather than a race the API hopes to win.
    """

    __tablename__ = "credit_decisions"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_credit_decisions_idempotency"),
        Index(
            "uq_credit_decisions_one_open_per_user",
            "user_id",
            unique=True,
            postgresql_where=text(OPEN_DECISION_SQL),
            sqlite_where=text(OPEN_DECISION_SQL),
        ),
        Index("ix_credit_decisions_user_requested", "user_id", "requested_at"),
        Index("ix_credit_decisions_status", "status"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    workflow_id: str = Field(sa_type=String(80), unique=True)
    idempotency_key: str | None = Field(default=None, sa_type=String(128))
    status: DecisionStatus = Field(default=DecisionStatus.PENDING, sa_type=String(16))
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    review_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    """While an analyst must act (REFERRED, CONTESTED, CONFIRMING): when the review is overdue."""
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    """When the review passed ``review_due_at`` and the analysts were told (the queue's flag)."""


class DecisionRecord(SQLModel, table=True):
    """Append-only audit of what was decided, by whom or by which model and policy, and why."""

    __tablename__ = "decision_records"
    __table_args__ = (
        UniqueConstraint("decision_id", "kind", "sequence", name="uq_decision_records_step"),
        Index("ix_decision_records_score", "risk_score"),
    )

    id: int | None = Field(default=None, primary_key=True)
    decision_id: uuid.UUID = Field(
        foreign_key="credit_decisions.id", index=True, ondelete="CASCADE"
    )
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    kind: RecordKind = Field(sa_type=String(16))
    sequence: int = 0
    outcome: str = Field(sa_type=String(16))  # APPROVED | DENIED | REFERRED | CONTESTED | ...
    features: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    model_name: str | None = Field(default=None, sa_type=String(64))
    model_version: str | None = Field(default=None, sa_type=String(64))
    risk_score: float | None = None
    risk_band: str | None = Field(default=None, sa_type=String(2))
    policy_version: str = Field(sa_type=String(32))
    credit_limit: Decimal = Field(default=Decimal("0"), sa_type=MONEY)
    interest_rate: Decimal = Field(default=Decimal("0"), sa_type=RATE)
    credit_type: str | None = Field(default=None, sa_type=String(16))
    reason_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contributions: dict[str, float] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False, server_default=text("'{}'")),
    )
    """The model's per-feature log-odds behind ``risk_score`` (what the workbench explains)."""
    reviewer_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    comment: str | None = Field(default=None, sa_type=String(2000))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class Offer(SQLModel, table=True):
    """A credit offer. ``OPEN`` → ``ACCEPTED`` → ``DEPLOYED``, or ``DECLINED`` / ``EXPIRED``."""

    __tablename__ = "offers"
    __table_args__ = (
        Index(
            "uq_offers_one_open_per_user",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'OPEN'"),
            sqlite_where=text("status = 'OPEN'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    decision_id: uuid.UUID = Field(
        foreign_key="credit_decisions.id", unique=True, ondelete="CASCADE"
    )
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    credit_limit: Decimal = Field(sa_type=MONEY)
    interest_rate: Decimal = Field(sa_type=RATE)
    credit_type: str = Field(sa_type=String(16))
    status: OfferStatus = Field(default=OfferStatus.OPEN, sa_type=String(16))
    expires_at: datetime = Field(sa_type=UTCDateTime())
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


class Notification(SQLModel, table=True):
    """What the app shows the user. ``dedup_key`` makes the notify activity safe to retry.

    ``seq`` numbers a user's notifications 1, 2, 3... in commit order (``ecs.notifications.inbox``
    assigns it on insert; the unique index turns a race into a retry), so "everything after
    ``seq`` n" is an exact resume point for the app's event stream (``GET /v1/me/events``).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_created", "user_id", "created_at"),
        UniqueConstraint("user_id", "seq", name="uq_notifications_user_seq"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    dedup_key: str = Field(sa_type=String(160), unique=True)
    seq: int | None = Field(default=None, nullable=False)  # set on insert: ecs.notifications.inbox
    kind: str = Field(sa_type=String(32))
    title: str = Field(sa_type=String(200))
    body: str = Field(sa_type=String(2000))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decision_id: uuid.UUID | None = Field(default=None, foreign_key="credit_decisions.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


@event.listens_for(Notification, "before_insert")
def _number_notification(_mapper: Any, connection: Connection, target: Notification) -> None:
    """Every writer of the inbox numbers its row the same way: the user's last ``seq`` + 1.

    Concurrent inserts for one user queue first, so each reads the number the previous one
    committed and numbers follow commit order: on PostgreSQL on the user's row (``FOR NO KEY
    UPDATE``, which does not block the key-share locks foreign keys take), on SQLite on the
    database's write lock, taken by a no-op write (the driver opens the transaction only at the
    first write, so a plain read would see a number another writer is about to commit). Without
    this, twelve writers racing for one number starved each other past any retry budget. The
    unique index still refuses a duplicate number and ``ecs.notifications.inbox.append``
    retries one.
    """
    if target.seq is None:
        params = {"user_id": target.user_id}
        lock = _LOCK_USER_SQLITE if connection.dialect.name == "sqlite" else _LOCK_USER
        connection.execute(lock, params)
        target.seq = connection.execute(_NEXT_SEQ, params).scalar_one()


# The numbering's statements, built once: every notification pays for them (~0.3 ms of CPU a
# row when they were built per insert).
_USERS = User.__table__  # type: ignore[attr-defined]
_NOTIFICATIONS = Notification.__table__  # type: ignore[attr-defined]
_LOCK_USER_SQLITE = (
    update(_USERS).where(_USERS.c.id == bindparam("user_id")).values(email=_USERS.c.email)
)
_LOCK_USER = (
    select(_USERS.c.id).where(_USERS.c.id == bindparam("user_id")).with_for_update(key_share=True)
)
_NEXT_SEQ = select(func.coalesce(func.max(_NOTIFICATIONS.c.seq), 0) + 1).where(
    _NOTIFICATIONS.c.user_id == bindparam("user_id")
)
