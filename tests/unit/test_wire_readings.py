"""The API builds stream readings as plain dicts (``ecs.stream.messages.wire_readings``) for
speed; on the wire they must be byte for byte what ``StreamReading`` encodes to, so the consumer,
the raw PostgreSQL path and an operator's ``XRANGE`` cannot tell which one a producer used."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta, timezone

import orjson

from ecs.stream.messages import (
    StreamReading,
    WireReading,
    decode_entry,
    encode_entry,
    validate_readings,
    wire_readings,
)


def test_wire_dicts_have_the_dataclass_fields_in_its_order() -> None:
    assert list(WireReading.__annotations__) == [f.name for f in dataclasses.fields(StreamReading)]


def test_wire_dicts_encode_to_the_same_bytes_as_stream_readings_and_decode_back() -> None:
    now = datetime.now(UTC)
    user = uuid.uuid4()
    validated = validate_readings(
        [
            {
                "occurred_at": now.isoformat(),
                "metrics": {"positivity": 0.25, "intensity": 1, "stress": 0.0},
            },
            {
                "event_id": str(uuid.uuid4()),
                "occurred_at": now.astimezone(timezone(timedelta(hours=-3))).isoformat(),
                "kind": "joy",
                "metrics": {"positivity": 0.9, "intensity": 0.5, "stress": 0.1},
                "context": {"screen": "loans", "n": 3, "ok": True, "none": None},
            },
        ]
    )
    received = datetime.now(UTC)
    wire = wire_readings(validated, [user, user], received)
    dataclasses_ = [
        StreamReading(
            r["event_id"],
            user,
            r["occurred_at"],
            r["kind"],
            r["metrics"]["positivity"],
            r["metrics"]["intensity"],
            r["metrics"]["stress"],
            r["context"],
            received,
        )
        for r in validated
    ]
    assert encode_entry(wire) == encode_entry(dataclasses_)
    assert orjson.loads(encode_entry(wire)[b"r"]) == [r.to_wire() for r in dataclasses_]
    decoded = decode_entry(encode_entry(wire))
    assert [d.event_id for d in decoded] == [r["event_id"] for r in validated]
    assert [d.occurred_at for d in decoded] == [r["occurred_at"] for r in validated]  # instants
    assert decoded[1].context == {"screen": "loans", "n": 3, "ok": True, "none": None}
    assert decoded[0].kind == "reading" and decoded[0].intensity == 1.0
