"""The emotion reading model: what the app sends, what travels in the stream, and how it is encoded.

Two shapes on purpose:

* ``ReadingIn`` is the public contract, strict (unknown keys refused, bounded sizes, timestamps
  sanity-checked) because it faces the internet.
* ``StreamReading`` is the internal, already-validated record. On the wire it is a plain JSON
  object with full field names, so an operator reading the stream with ``redis-cli XRANGE`` can
  understand it without our code. The API builds the same objects as ``WireReading`` dicts,
  which encode to the same bytes at a fraction of the cost.

A stream entry carries one *or more* readings: ``{"v": "1", "r": <JSON array of readings>}``. The
API writes one entry per request (a 1,000-reading batch is one XADD, not 1,000); see
``docs``/the README for the measurement behind that choice. The consumer handles any number of
readings per entry, so single-reading entries (``per_entry=1``) remain valid on the wire.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, NotRequired

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict

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


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _small_context(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(orjson.dumps(value)) > MAX_CONTEXT_BYTES:
        raise ValueError(f"context is larger than {MAX_CONTEXT_BYTES} bytes as JSON")
    return value


# TypedDicts, not models: pydantic-core builds plain dicts for the whole batch in one call, with
# no Python in the loop. As ``BaseModel``s with two Python field validators, after ``orjson``,
# this was 8 µs of the ingest API's ~24 µs per reading (py-spy, ``bench/ingest.py``); as
# TypedDicts validated from the body's bytes, the time window checked once per batch
# (``readings_of_body``), it is ~2.5 µs.
@with_config(ConfigDict(extra="forbid"))
class Metrics(TypedDict):
    positivity: Unit
    intensity: Unit
    stress: Unit


@with_config(ConfigDict(extra="forbid", title="ReadingIn"))
class ReadingIn(TypedDict):
    """One reading as the app (or the trusted ingest service) sends it."""

    event_id: NotRequired[
        Annotated[
            uuid.UUID,
            Field(
                default_factory=uuid.uuid4,
                description="Client-chosen id making retries idempotent; generated when absent.",
            ),
        ]
    ]
    user_id: NotRequired[
        Annotated[
            uuid.UUID | None,
            Field(
                default=None,
                description="Required with the ingest API key; optional (must be yours) with a "
                "token.",
            ),
        ]
    ]
    occurred_at: Annotated[
        AwareDatetime,
        Field(
            description="When the app sensed it; timezone required, at most "
            f"{_minutes(MAX_FUTURE)} minutes ahead and {MAX_AGE.days} days old."
        ),
    ]
    kind: NotRequired[Annotated[EmotionKind, Field(default=EmotionKind.READING)]]
    metrics: Metrics
    context: NotRequired[
        Annotated[
            dict[ContextKey, ContextValue] | None,
            Field(
                default=None,
                max_length=MAX_CONTEXT_KEYS,
                description=f"Small free-form context (≤ {MAX_CONTEXT_KEYS} keys, ≤ "
                f"{MAX_CONTEXT_BYTES} bytes as JSON), e.g. the app screen.",
            ),
            AfterValidator(_small_context),  # runs only for readings that carry a context
        ]
    ]


@with_config(ConfigDict(extra="forbid", title="ReadingBatch"))
class ReadingBatch(TypedDict):
    """The batch shape (``readings_of_body`` validates a batch body against it directly)."""

    readings: Annotated[list[ReadingIn], Field(min_length=1, max_length=MAX_BATCH)]


_READINGS = TypeAdapter(list[ReadingIn])
_BATCH = TypeAdapter(ReadingBatch)
_AWARE = TypeAdapter(AwareDatetime)


class InvalidReadings(ValueError):
    """The batch is refused as a whole; ``errors`` names each bad reading by index and field."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} invalid reading(s)")
        self.errors = errors


def readings_of_body(body: bytes) -> list[ReadingIn]:
    """The readings of a request body (one reading, or ``{"readings": [...]}``), validated.

    A well-formed batch is parsed and validated straight from the bytes, in one pass of
    pydantic-core's Rust (no Python dict per reading in between: 1.5 µs per reading less than
    ``orjson.loads`` then ``validate_python``). Anything else (a single reading, a body with
    mistakes) goes through ``validate_readings``, which names every problem.
    """
    try:
        readings = _BATCH.validate_json(body)["readings"]
    except ValueError:  # pydantic's ValidationError, or bytes that are not text
        return validate_readings(body_items(body))
    _check_window(readings)
    return readings


def body_items(body: bytes) -> list[Any]:
    """The body's readings as parsed JSON, not yet validated; the body's shape is checked."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidReadings([_error(None, "", f"invalid JSON: {exc}", "json_invalid")]) from exc
    if isinstance(data, dict) and "readings" in data:
        extra = sorted(set(data) - {"readings"})
        items = data["readings"]
        if extra:
            raise InvalidReadings([_error(None, extra[0], "unexpected field", "extra_forbidden")])
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise InvalidReadings(
                [_error(None, "readings", f"must be 1..{MAX_BATCH} readings", "batch_size")]
            )
        return items
    if isinstance(data, dict):
        return [data]
    raise InvalidReadings(
        [_error(None, "", "expected a reading or {'readings': [...]}", "body_shape")]
    )


def validate_readings(items: list[Any]) -> list[ReadingIn]:
    """The readings of one request, or ``InvalidReadings`` listing every problem at once."""
    try:
        readings = _READINGS.validate_python(items)
    except ValidationError as exc:
        errors = _pydantic_errors(exc)
        judged = {e["index"] for e in errors if e["field"] == "occurred_at"}
        errors += _window_errors(
            (
                (i, item.get("occurred_at"))
                for i, item in enumerate(items)
                if i not in judged and isinstance(item, dict)
            ),
            _window(),
        )
        raise InvalidReadings(sorted(errors, key=lambda e: e["index"])) from exc
    _check_window(readings)
    return readings


def _check_window(readings: list[ReadingIn]) -> None:
    """A far-future ``occurred_at`` would sit on top of every "latest reading" query; a very old
    one is a replay or a broken clock, and would rewrite aggregates of closed days.

    Checked once per batch (its earliest and latest reading against one clock read) rather than
    per reading in a validator: comparing aware datetimes calls back into Python for their
    offsets, except between values of one offset, which is what a batch usually holds.
    """
    times = [r["occurred_at"] for r in readings]
    bounds = _window()
    if min(times) < bounds[0] or max(times) > bounds[1]:
        raise InvalidReadings(_window_errors(enumerate(times), bounds))  # the same clock read


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - MAX_AGE, now + MAX_FUTURE


def _window_errors(
    times: Iterable[tuple[int, Any]], bounds: tuple[datetime, datetime]
) -> list[dict[str, Any]]:
    """One error per reading outside ``bounds`` (slow path: only for a batch being refused)."""
    oldest, latest = bounds
    errors = []
    for index, raw in times:
        try:
            value = raw if isinstance(raw, datetime) else _AWARE.validate_python(raw)
        except ValidationError:
            continue  # already reported by the schema
        if value > latest:
            msg = f"occurred_at is more than {_minutes(MAX_FUTURE)} minutes in the future"
        elif value < oldest:
            msg = f"occurred_at is older than {MAX_AGE.days} days"
        else:
            continue
        errors.append(_error(index, "occurred_at", f"Value error, {msg}", "value_error"))
    return errors


def _pydantic_errors(exc: ValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = err["loc"]
        field = ".".join(str(part) for part in loc[1:])
        errors.append(_error(loc[0] if loc else None, field, err["msg"], err["type"]))
    return errors


def _error(index: Any, field: str, msg: str, type_: str) -> dict[str, Any]:
    return {"index": index, "field": field, "msg": msg, "type": type_}


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


class WireReading(TypedDict):
    """A reading as the stream carries it, built by the API for every reading it accepts.

    The same fields, in the same order, as ``StreamReading`` (so the same bytes once encoded; a
    test checks both), as a plain dict: building one costs a sixth of a frozen dataclass and
    encoding it half, which on the ingest hot path was 3 µs of the API's ~20 µs per reading.
    """

    event_id: uuid.UUID
    user_id: uuid.UUID
    occurred_at: datetime
    kind: str
    positivity: float
    intensity: float
    stress: float
    context: dict[str, Any] | None
    received_at: datetime


def wire_readings(
    readings: Sequence[ReadingIn], owners: Sequence[uuid.UUID], received_at: datetime
) -> list[WireReading]:
    """``readings`` (validated) bound to their owners and stamped with when the API got them."""
    return [
        {
            "event_id": r["event_id"],
            "user_id": owner,
            "occurred_at": r["occurred_at"],
            "kind": r["kind"],
            "positivity": (m := r["metrics"])["positivity"],
            "intensity": m["intensity"],
            "stress": m["stress"],
            "context": r["context"],
            "received_at": received_at,
        }
        for r, owner in zip(readings, owners, strict=True)
    ]


def user_of(reading: StreamReading | WireReading) -> uuid.UUID:
    return reading["user_id"] if isinstance(reading, dict) else reading.user_id


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


def encode_entry(readings: Sequence[StreamReading | WireReading]) -> dict[bytes, bytes]:
    """The entry's fields. orjson serialises the dataclasses and dicts natively (UUIDs as
    strings, datetimes as ISO 8601 with their offset, fields in declaration order): the same
    bytes as ``to_wire`` in a third of the time."""
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
