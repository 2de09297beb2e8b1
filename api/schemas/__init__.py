"""Request and response models of the public API, in "class families".

Each resource has a ``...Base`` with the fields clients and the server share, a ``...Create`` that
adds what only the client sends (a password) and a ``...Public`` that adds what only the server
returns (ids, timestamps). Tables never leave the API directly: a ``Public`` model is the
allow-list of what a client may see (no password hashes, no feature snapshots).

Request models forbid unknown fields, so a typo such as ``"ammount"`` is a 422 naming the field
rather than a silently ignored value. Money travels as a JSON string (``"1250.00"``) so no client
ever rounds it through a binary float.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
)

Money = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
Rate = Annotated[Decimal, Field(gt=0, lt=1, max_digits=7, decimal_places=4)]
_CENT, _BASIS_POINT = Decimal("0.01"), Decimal("0.0001")
# Outgoing amounts always carry their full scale ("7500.00", "0.1850"), whichever component
# (policy code, workflow, database) produced them, so clients can compare strings safely.
MoneyOut = Annotated[Decimal, PlainSerializer(lambda v: str(v.quantize(_CENT)), return_type=str)]
RateOut = Annotated[
    Decimal, PlainSerializer(lambda v: str(v.quantize(_BASIS_POINT)), return_type=str)
]
T = TypeVar("T")

# Listing parameters shared by every paginated route.
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
# Bounded: a huge offset overflowed the database's integer (a 500), and deep offsets are slow.
MAX_OFFSET = 100_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip (newest first)")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a newest-first listing; ``next_offset`` is null on the last page."""

    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = None


# --- transactions ------------------------------------------------------------------------------


class TransactionBase(BaseModel):
    amount: Money = Field(examples=["125.50"])
    direction: Literal["in", "out"]
    occurred_at: AwareDatetime
    description: str | None = Field(default=None, max_length=200)


class TransactionPublic(TransactionBase, _Public):
    """Read-only: transactions come from the ledger feed (``api.schemas.ledger``)."""

    id: uuid.UUID
    currency: str | None = Field(default=None, description="Null on rows older than the feed")
    created_at: datetime


# --- the user's own account --------------------------------------------------------------------


class CreditAccountPublic(_Public):
    credit_limit: MoneyOut
    interest_rate: RateOut
    credit_type: str
    offer_id: uuid.UUID
    activated_at: datetime
    updated_at: datetime


class NotificationPublic(_Public):
    id: uuid.UUID
    seq: int = Field(description="Per-user number in commit order: the event stream's event id")
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    decision_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None


# --- codec server ------------------------------------------------------------------------------


class CodecPayload(BaseModel):
    """Temporal's JSON form of a ``Payload``: base64 metadata values and base64 data."""

    metadata: dict[str, str] = {}
    data: str = ""


class CodecPayloads(BaseModel):
    # Protobuf JSON omits empty lists: the CLI sends `{}` when a query has no arguments.
    payloads: list[CodecPayload] = Field(default_factory=list)
