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
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

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


# Ids and times the examples share, so one example's decision is another's ``decision_id``.
EXAMPLE_USER_ID = "5f0c6f7e-2b8a-4c1d-9e3f-7a6b5c4d3e21"
EXAMPLE_DECISION_ID = "3d9f1c2a-8b7e-4f60-a5d4-c3b2a1908f7e"
EXAMPLE_OFFER_ID = "b8e2d4f6-1a3c-4e5b-9d7f-0c2e4a6b8d10"
EXAMPLE_REQUESTED_AT = "2026-12-02T14:03:11.482000Z"
EXAMPLE_DECIDED_AT = "2026-12-02T14:03:11.530000Z"
EXAMPLE_EXPIRES_AT = "2026-12-09T14:03:11.530000Z"


def examples(*items: dict[str, Any]) -> ConfigDict:
    """A model's OpenAPI ``examples``; every exposed schema has one (test_openapi_examples)."""
    return ConfigDict(json_schema_extra={"examples": list(items)})


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _page_examples(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """``Page[Item]``'s example is a page holding the item model's own first example."""
    (item,) = get_args(model.model_fields["items"].annotation) or (None,)
    extra = getattr(item, "model_config", {}).get("json_schema_extra")
    if isinstance(extra, dict) and extra.get("examples"):
        items = [extra["examples"][0]]
        schema["examples"] = [{"items": items, "limit": 20, "offset": 0, "next_offset": 20}]


class Page(BaseModel, Generic[T]):
    """One page of a newest-first listing; ``next_offset`` is null on the last page."""

    model_config = ConfigDict(json_schema_extra=_page_examples)

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

    model_config = examples(
        {
            "id": "0e7d5c3b-9a8f-4e6d-b5c4-a3f2e1d0c9b8",
            "amount": "4200.00",
            "direction": "in",
            "occurred_at": "2026-11-28T09:00:00Z",
            "description": "Salary",
            "currency": "BRL",
            "created_at": "2026-11-28T09:00:02.114000Z",
        }
    )

    id: uuid.UUID
    currency: str | None = Field(default=None, description="Null on rows older than the feed")
    created_at: datetime


# --- the user's own account --------------------------------------------------------------------


class CreditAccountPublic(_Public):
    model_config = examples(
        {
            "credit_limit": "7500.00",
            "interest_rate": "0.1850",
            "credit_type": "SHORT_TERM",
            "offer_id": EXAMPLE_OFFER_ID,
            "activated_at": "2026-12-02T14:05:40.201000Z",
            "updated_at": "2026-12-02T14:05:40.201000Z",
        }
    )

    credit_limit: MoneyOut
    interest_rate: RateOut
    credit_type: str
    offer_id: uuid.UUID
    activated_at: datetime
    updated_at: datetime


class NotificationPublic(_Public):
    model_config = examples(
        {
            "id": "7c1b9e3d-5f2a-4b6c-8d0e-1f3a5c7e9b2d",
            "seq": 3,
            "kind": "offer_ready",
            "title": "You have a credit offer",
            "body": "Limit 7500.00 at 18.50% a year, valid until 2026-12-09 14:03 UTC.",
            "data": {"decision_id": EXAMPLE_DECISION_ID, "offer_id": EXAMPLE_OFFER_ID},
            "decision_id": EXAMPLE_DECISION_ID,
            "created_at": EXAMPLE_DECIDED_AT,
            "read_at": "2026-12-02T14:04:02.377000Z",
        }
    )

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

    model_config = examples(
        # {"encoding": "json/plain"} and the JSON text "OFFERED", base64-encoded.
        {"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "Ik9GRkVSRUQi"}
    )

    metadata: dict[str, str] = {}
    data: str = ""


class CodecPayloads(BaseModel):
    model_config = examples(
        {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "Ik9GRkVSRUQi"}]}
    )

    # Protobuf JSON omits empty lists: the CLI sends `{}` when a query has no arguments.
    payloads: list[CodecPayload] = Field(default_factory=list)
