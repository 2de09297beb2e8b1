"""The emotion reading model: what the app sends, what travels in the stream, and how it is encoded.

Two shapes on purpose:

* ``ReadingIn`` is the public contract, strict (unknown keys refused, bounded sizes, timestamps
  sanity-checked) because it faces the internet.
* ``StreamReading`` is the internal, already-validated record. On the wire it is a plain JSON
  object with full field names, so an operator reading the stream with ``redis-cli XRANGE`` can
  understand it without our code.

A stream entry carries one *or more* readings: ``{"v": "1", "r": <JSON array of readings>}``. The
API writes one entry per request (a 1,000-reading batch is one XADD, not 1,000); see
``docs``/the README for the measurement behind that choice. The consumer handles any number of
readings per entry, so single-reading entries (``per_entry=1``) remain valid on the wire.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

WIRE_VERSION = b"1"
FIELD_VERSION = b"v"
FIELD_READINGS = b"r"

MAX_BATCH = 1000
MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)
MAX_CONTEXT_KEYS = 16
MAX_CONTEXT_BYTES = 1024


class EmotionKind(StrEnum):
    """A closed set: free-text kinds would make aggregates and dashboards unqueryable.

    ``reading`` is the neutral "sensor sample" kind for apps that only send the three metrics.
    """

    READING = "reading"
    JOY = "joy"
    SADNESS = "sadness"
    ANGER = "anger"
    FEAR = "fear"
    SURPRISE = "surprise"
    CALM = "calm"
    STRESS = "stress"


# Strict: JSON numbers only. Lax coercion stored ``"stress": true`` as 1.0 (acute distress) and
# ``"0.9"`` as 0.9, so a buggy client's readings changed decisions instead of being refused.
Unit = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, strict=True)]
ContextKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ContextValue = Annotated[str, StringConstraints(max_length=256)] | int | float | bool | None


class _PlausibleWindow:
    """The accepted ``occurred_at`` range, recomputed at most every ``REFRESH_SECONDS``.

    The validator runs once per reading (up to 1,000 per request); reading the clock and doing
    the date arithmetic there was a fifth of the ingest API's validation time (py-spy,
    ``bench/ingest.py``). A bound up to 0.1 s old is nothing beside minutes and days.
    """

    REFRESH_SECONDS = 0.1

    def __init__(self) -> None:
        self._at = -1.0
        self._bounds = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))

    def bounds(self) -> tuple[datetime, datetime]:
        tick = time.monotonic()
        if tick - self._at >= self.REFRESH_SECONDS or tick < self._at:
            now = datetime.now(UTC)
            self._bounds, self._at = (now - MAX_AGE, now + MAX_FUTURE), tick
        return self._bounds


_PLAUSIBLE = _PlausibleWindow()


class Metrics(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    positivity: Unit
    intensity: Unit
    stress: Unit


class ReadingIn(BaseModel):
    """One reading as the app (or the trusted ingest service) sends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        description="Client-chosen id making retries idempotent; generated when absent.",
    )
    user_id: uuid.UUID | None = Field(
        default=None,
        description="Required with the ingest API key; optional (must be yours) with a token.",
    )
    occurred_at: AwareDatetime = Field(description="When the app sensed it; timezone required.")
    kind: EmotionKind = EmotionKind.READING
    metrics: Metrics
    context: dict[ContextKey, ContextValue] | None = Field(
        default=None,
        max_length=MAX_CONTEXT_KEYS,
        description=f"Small free-form context (≤ {MAX_CONTEXT_KEYS} keys, ≤ "
        f"{MAX_CONTEXT_BYTES} bytes as JSON), e.g. the app screen.",
    )

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        # A far-future timestamp would sit on top of every "latest reading" query; a very old one
        # is a replay or a broken clock, and would rewrite aggregates of closed days.
        oldest, latest = _PLAUSIBLE.bounds()
        if value > latest:
            raise ValueError("occurred_at is more than 5 minutes in the future")
        if value < oldest:
            raise ValueError("occurred_at is older than 7 days")
        return value

    @field_validator("context")
    @classmethod
    def _small_context(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(orjson.dumps(value)) > MAX_CONTEXT_BYTES:
            raise ValueError(f"context is larger than {MAX_CONTEXT_BYTES} bytes as JSON")
        return value


class ReadingBatch(BaseModel):
    """The batch shape; documented in OpenAPI, the route itself parses with orjson for speed."""

    model_config = ConfigDict(extra="forbid")

    readings: list[ReadingIn] = Field(min_length=1, max_length=MAX_BATCH)


class IngestAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": 2,
                    "event_ids": [
                        "c4a7e1f0-6b3d-4d2e-9f8a-1b5c7d9e0f23",
                        "d5b8f2a1-7c4e-4e3f-8a9b-2c6d8e0f1a34",
                    ],
                }
            ]
        }
    )

    accepted: int
    event_ids: list[uuid.UUID]


@dataclass(frozen=True, slots=True)
class StreamReading:
    """A validated reading bound to its user: the unit the consumer persists and signals."""

    event_id: uuid.UUID
    user_id: uuid.UUID
    occurred_at: datetime
    kind: str
    positivity: float
    intensity: float
    stress: float
    context: dict[str, Any] | None
    received_at: datetime

    def to_wire(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "user_id": str(self.user_id),
            "occurred_at": self.occurred_at.isoformat(),
            "kind": self.kind,
            "positivity": self.positivity,
            "intensity": self.intensity,
            "stress": self.stress,
            "context": self.context,
            "received_at": self.received_at.isoformat(),
        }

    @classmethod
    def from_wire(cls, data: Any) -> StreamReading:
        """Strict decoding: anything odd raises ``PoisonEntry`` rather than reaching the DB."""
        if not isinstance(data, dict):
            raise PoisonEntry("reading is not a JSON object")
        try:
            occurred_at = datetime.fromisoformat(data["occurred_at"])
            received_at = datetime.fromisoformat(data["received_at"])
            if occurred_at.tzinfo is None or received_at.tzinfo is None:
                raise ValueError("naive timestamp")
            metrics = [float(data[k]) for k in ("positivity", "intensity", "stress")]
            if not all(0.0 <= m <= 1.0 for m in metrics):
                raise ValueError("metric outside 0..1")
            kind = EmotionKind(data["kind"]).value
            context = data.get("context")
            if context is not None and not isinstance(context, dict):
                raise ValueError("context is not an object")
            return cls(
                event_id=uuid.UUID(data["event_id"]),
                user_id=uuid.UUID(data["user_id"]),
                occurred_at=occurred_at.astimezone(UTC),
                kind=kind,
                positivity=metrics[0],
                intensity=metrics[1],
                stress=metrics[2],
                context=context,
                received_at=received_at.astimezone(UTC),
            )
        except PoisonEntry:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise PoisonEntry(f"invalid reading: {type(exc).__name__}: {exc}") from exc


class PoisonEntry(ValueError):
    """A stream entry that can never be processed, however often it is retried."""


def encode_entry(readings: list[StreamReading]) -> dict[bytes, bytes]:
    """The entry's fields. orjson serialises the dataclasses natively (UUIDs as strings,
    datetimes as ISO 8601 with their offset, fields in declaration order): the same bytes as
    ``to_wire`` in a third of the time, on the API's hot path."""
    return {FIELD_VERSION: WIRE_VERSION, FIELD_READINGS: orjson.dumps(readings)}


def decode_entry(fields: dict[bytes, bytes]) -> list[StreamReading]:
    if fields.get(FIELD_VERSION) != WIRE_VERSION:
        raise PoisonEntry(f"unknown wire version {fields.get(FIELD_VERSION)!r}")
    raw = fields.get(FIELD_READINGS)
    if raw is None:
        raise PoisonEntry("entry has no readings field")
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PoisonEntry(f"readings are not valid JSON: {exc}") from exc
    if not isinstance(items, list) or not items:
        raise PoisonEntry("readings are not a non-empty JSON array")
    return [StreamReading.from_wire(item) for item in items]
