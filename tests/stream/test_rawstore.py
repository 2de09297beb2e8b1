"""The PostgreSQL fast path judges every reading as the Python decoder does (PostgreSQL only).

For each way a reading can be wrong, ``decode_entry`` must refuse it *and* the fast path must roll
back and hand the batch to the portable path (which dead-letters exactly the culprit: see
``test_consumer.test_poison_entries_go_to_the_dead_letter_stream``); a clean batch must go through
the fast path with the same effects as the portable one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from ecs.domain.emotions import CoolingOffThresholds
from ecs.stream.messages import PoisonEntry, decode_entry, encode_entry
from ecs.stream.rawstore import joined_readings, persist_raw
from tests.stream.helpers import assert_daily_matches, make_users, reading, stored_event_ids

pytestmark = pytest.mark.postgres
THRESHOLDS = CoolingOffThresholds()

MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "naive occurred_at": lambda r: r.update(occurred_at=r["occurred_at"][:-6]),
    "naive received_at": lambda r: r.update(received_at=r["received_at"][:-6]),
    "date-only occurred_at": lambda r: r.update(occurred_at=r["occurred_at"][:10]),
    "unknown kind": lambda r: r.update(kind="bliss"),
    "metric above 1": lambda r: r.update(stress=1.5),
    "metric below 0": lambda r: r.update(positivity=-0.1),
    "missing metric": lambda r: r.pop("intensity"),
    "missing event id": lambda r: r.pop("event_id"),
    "bad user id": lambda r: r.update(user_id="not-a-uuid"),
    "context a list": lambda r: r.update(context=[1, 2]),
    "metric a word": lambda r: r.update(stress="high"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_each_poison_is_refused_by_both_decoders(pg: Engine, case: str) -> None:
    (user,) = make_users(pg, 1)
    good = [reading(user) for _ in range(3)]
    wire = [r.to_wire() for r in good]
    MUTATIONS[case](wire[1])
    fields = {b"v": b"1", b"r": orjson.dumps(wire)}
    with pytest.raises(PoisonEntry):
        decode_entry(fields)
    batch = joined_readings([encode_entry(good[:1]), fields])
    assert batch is not None
    assert persist_raw(pg, batch, THRESHOLDS) is None  # rolled back: the portable path decides
    assert stored_event_ids(pg, [user]) == []  # nothing of the batch was kept


def test_an_unknown_user_sends_the_batch_to_the_portable_path(pg: Engine) -> None:
    (user,) = make_users(pg, 1)
    batch = joined_readings([encode_entry([reading(user), reading(uuid.uuid4())])])
    assert batch is not None and persist_raw(pg, batch, THRESHOLDS) is None
    assert stored_event_ids(pg, [user]) == []


def test_a_clean_batch_takes_the_fast_path_exactly_once(pg: Engine) -> None:
    users = make_users(pg, 4)
    refused = make_users(pg, 1, consent=False)
    readings = [reading(u) for u in users for _ in range(25)]
    entries = [encode_entry(readings[i : i + 10]) for i in range(0, len(readings), 10)]
    entries.append(encode_entry([reading(refused[0])]))
    batch = joined_readings(entries)
    assert batch is not None
    first = persist_raw(pg, batch, THRESHOLDS)
    again = persist_raw(pg, batch, THRESHOLDS)  # a redelivery of the whole batch
    assert first is not None and again is not None
    assert first.readings == 101 and first.result.stored == 100
    assert first.result.refused == 1 and first.result.duplicates == 0
    assert again.result.stored == 0 and again.result.duplicates == 100
    assert sorted(stored_event_ids(pg, users)) == sorted(r.event_id for r in readings)
    assert stored_event_ids(pg, refused) == []
    assert_daily_matches(pg, users, readings)


def test_a_batch_partly_stored_already_stores_and_counts_only_its_new_readings(pg: Engine) -> None:
    """The merge tries a plain INSERT first; a stored reading in the batch must send it to the
    conflict-tolerant merge, not fail it or count the stored half twice."""
    users = make_users(pg, 3)
    readings = [reading(u) for u in users for _ in range(20)]
    first = persist_raw(pg, _batch(readings[:30]), THRESHOLDS)
    mixed = persist_raw(pg, _batch(readings[15:]), THRESHOLDS)  # 15 stored, 30 new
    assert first is not None and mixed is not None
    assert (first.result.stored, first.result.duplicates) == (30, 0)
    assert (mixed.result.stored, mixed.result.duplicates) == (30, 15)
    assert sorted(stored_event_ids(pg, users)) == sorted(r.event_id for r in readings)
    assert_daily_matches(pg, users, readings)


def test_offsets_written_as_z_take_the_fast_path(pg: Engine) -> None:
    (user,) = make_users(pg, 1)
    wire = [r.to_wire() for r in (reading(user), reading(user))]
    for item in wire:
        item["occurred_at"] = item["occurred_at"].replace("+00:00", "Z")
    fields = {b"v": b"1", b"r": orjson.dumps(wire)}
    decode_entry(fields)  # the portable decoder accepts them too
    raw = persist_raw(pg, _batch_of([fields]), THRESHOLDS)
    assert raw is not None and raw.result.stored == 2


def _batch(readings: list[Any]) -> bytes:
    return _batch_of([encode_entry(readings[i : i + 10]) for i in range(0, len(readings), 10)])


def _batch_of(entries: list[dict[bytes, bytes]]) -> bytes:
    batch = joined_readings(entries)
    assert batch is not None
    return batch


def test_entries_the_fast_path_cannot_read_are_left_to_the_portable_path() -> None:
    ok = encode_entry([reading(uuid.uuid4())])
    assert joined_readings([ok, {b"v": b"9", b"r": b"[]"}]) is None
    assert joined_readings([ok, {b"v": b"1", b"r": b"{not json"}]) is None
    assert joined_readings([ok, {b"v": b"1", b"r": b"[]"}]) is None
    assert joined_readings([ok, None]) is None
