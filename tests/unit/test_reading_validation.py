"""Reading validation (``ecs.stream.messages``): a batch body is validated straight from its
bytes, anything else through the path that names every problem, and both must judge alike. The
``occurred_at`` window is checked once per batch, on its earliest and latest reading: it must still
name every reading outside it and judge readings of different UTC offsets by their instant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from ecs.stream.messages import (
    MAX_AGE,
    MAX_FUTURE,
    InvalidReadings,
    readings_of_body,
    validate_readings,
)

METRICS = {"positivity": 0.5, "intensity": 0.5, "stress": 0.5}


def reading(at: datetime | str, **fields: Any) -> dict[str, Any]:
    return {
        "occurred_at": at if isinstance(at, str) else at.isoformat(),
        "metrics": METRICS,
        **fields,
    }


def refused(items: list[dict[str, Any]]) -> dict[int, str]:
    with pytest.raises(InvalidReadings) as caught:
        validate_readings(items)
    return {e["index"]: e["field"] + ": " + e["msg"] for e in caught.value.errors}


def test_a_batch_inside_the_window_is_accepted_with_defaults_filled() -> None:
    now = datetime.now(UTC)
    readings = validate_readings([reading(now), reading(now - MAX_AGE + timedelta(minutes=1))])
    assert [r["kind"] for r in readings] == ["reading", "reading"]
    assert all(isinstance(r["event_id"], uuid.UUID) for r in readings)
    assert [r["user_id"] for r in readings] == [None, None]
    assert [r["context"] for r in readings] == [None, None]


def test_every_reading_outside_the_window_is_named() -> None:
    now = datetime.now(UTC)
    errors = refused(
        [
            reading(now),
            reading(now + MAX_FUTURE + timedelta(seconds=5)),
            reading(now),
            reading(now - MAX_AGE - timedelta(minutes=1)),
        ]
    )
    assert errors == {
        1: "occurred_at: Value error, occurred_at is more than 5 minutes in the future",
        3: "occurred_at: Value error, occurred_at is older than 7 days",
    }


def test_offsets_are_judged_by_the_instant_not_the_wall_clock() -> None:
    now = datetime.now(UTC)
    east, west = timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))
    # 14 hours ahead on the wall clock, but now: fine. Four minutes ahead, written far west: fine.
    validate_readings(
        [reading(now.astimezone(east)), reading((now + timedelta(minutes=4)).astimezone(west))]
    )
    # Six minutes ahead, written with an offset that makes its wall clock look like yesterday.
    assert set(refused([reading(now), reading((now + timedelta(minutes=6)).astimezone(west))])) == {
        1
    }


def test_window_errors_come_with_the_schema_errors_of_the_same_batch() -> None:
    now = datetime.now(UTC)
    bad_metric = reading(now)
    bad_metric["metrics"] = {**METRICS, "stress": 1.5}
    errors = refused(
        [
            bad_metric,
            reading(now + timedelta(hours=1)),
            reading("2026-01-01T10:00:00"),  # no timezone: a schema error, reported once
            reading(now, kind="bored"),
        ]
    )
    assert sorted(errors) == [0, 1, 2, 3]
    assert errors[1].endswith("in the future")
    assert errors[2].startswith("occurred_at: Input should have timezone info")


def test_an_oversized_context_is_refused_and_a_small_one_kept() -> None:
    now = datetime.now(UTC)
    small = reading(now, context={"screen": "loans"})
    big = reading(now, context={f"k{i}": "x" * 200 for i in range(10)})
    assert validate_readings([small])[0]["context"] == {"screen": "loans"}
    assert refused([small, big]) == {
        1: "context: Value error, context is larger than 1024 bytes as JSON"
    }


def test_a_batch_body_validated_from_bytes_equals_the_item_by_item_result() -> None:
    now = datetime.now(UTC)
    items = [
        reading(now, event_id=str(uuid.uuid4()), kind="joy", context={"screen": "loans"}),
        reading(now.astimezone(timezone(timedelta(hours=5))), event_id=str(uuid.uuid4())),
    ]
    assert readings_of_body(orjson.dumps({"readings": items})) == validate_readings(items)


def test_a_single_reading_body_is_one_reading() -> None:
    event_id = uuid.uuid4()
    body = orjson.dumps(reading(datetime.now(UTC), event_id=str(event_id)))
    assert [r["event_id"] for r in readings_of_body(body)] == [event_id]


def test_the_window_applies_to_batch_bodies_too() -> None:
    now = datetime.now(UTC)
    body = orjson.dumps({"readings": [reading(now), reading(now + timedelta(hours=1))]})
    with pytest.raises(InvalidReadings) as caught:
        readings_of_body(body)
    assert [(e["index"], e["field"]) for e in caught.value.errors] == [(1, "occurred_at")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", ""),
        (b"[]", ""),
        (orjson.dumps({"readings": []}), "readings"),
        (orjson.dumps({"readings": [reading(datetime.now(UTC))], "extra": 1}), "extra"),
    ],
    ids=["not-json", "bare-list", "empty", "unknown-key"],
)
def test_malformed_bodies_name_the_problem(body: bytes, field: str) -> None:
    with pytest.raises(InvalidReadings) as caught:
        readings_of_body(body)
    assert [(e["index"], e["field"]) for e in caught.value.errors] == [(None, field)]
