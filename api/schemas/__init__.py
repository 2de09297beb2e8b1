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

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
)

from ecs.domain.status import Role

# Clocks on phones drift; a reading stamped a few seconds ahead of ours is not "in the future".
CLOCK_SKEW = timedelta(seconds=60)
# Deliberately loose (one "@", a dot in the domain, no spaces): deliverability is proven by the
# confirmation e-mail, not by a regular expression.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

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
Offset = Annotated[int, Query(ge=0, description="Items to skip (newest first)")]


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


# --- users -------------------------------------------------------------------------------------


class UserBase(BaseModel):
    email: str = Field(max_length=320, examples=["ana@example.com"])
    consent_emotion_processing: bool = Field(
        default=False,
        description="Whether ECS may use the user's emotion readings in credit decisions.",
    )


class UserCreate(UserBase, _Request):
    password: str = Field(min_length=12, max_length=256)

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str) -> str:
        # Lower-cased so "Ana@Example.com" and "ana@example.com" are one account.
        value = value.strip().lower()
        if not _EMAIL.match(value):
            raise ValueError("not a valid e-mail address")
        return value


class UserPublic(UserBase, _Public):
    id: uuid.UUID
    role: Role
    created_at: datetime


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


# --- transactions ------------------------------------------------------------------------------


class TransactionBase(BaseModel):
    amount: Money = Field(examples=["125.50"])
    direction: Literal["in", "out"]
    occurred_at: AwareDatetime
    description: str | None = Field(default=None, max_length=200)


class TransactionCreate(TransactionBase, _Request):
    @field_validator("occurred_at")
    @classmethod
    def _not_in_future(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("occurred_at is in the future")
        return value.astimezone(UTC)


class TransactionPublic(TransactionBase, _Public):
    id: uuid.UUID
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
