"""Event ids are unique per user (issue 10): one user cannot pre-empt another user's reading.

The same event id from two users is two readings, stored and counted; a replay from one user is
still one row. Runs on the default database (SQLite, portable path) and, with ``pg``, through
both PostgreSQL paths (COPY + merge, and the ``jsonb_to_recordset`` raw store).
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import Engine

from ecs.domain.emotions import CoolingOffThresholds
from ecs.stream.messages import StreamReading, encode_entry
from ecs.stream.rawstore import joined_readings, persist_raw
from ecs.stream.store import persist
from tests.stream.helpers import count_events, make_users, reading, stored_daily

THRESHOLDS = CoolingOffThresholds()


def _same_id_from_two_users(engine: Engine, *, raw: bool) -> None:
    a, b = make_users(engine, 2)
    first = reading(a)
    # Same id and same moment: on PostgreSQL the old key (occurred_at, event_id) met here too.
    theirs = dataclasses.replace(reading(b), event_id=first.event_id, occurred_at=first.occurred_at)

    def store(batch: list[StreamReading]) -> tuple[int, int]:
        if raw:
            joined = joined_readings([encode_entry(batch)])
            assert joined is not None
            out = persist_raw(engine, joined, THRESHOLDS)
            assert out is not None
            return out.result.stored, out.result.duplicates
        res = persist(engine, batch, THRESHOLDS)
        return res.stored, res.duplicates

    assert store([first]) == (1, 0)
    assert store([theirs]) == (1, 0)  # B's reading is not a "duplicate" of A's
    assert store([first]) == (0, 1)  # A's replay is
    assert count_events(engine, [a]) == 1 and count_events(engine, [b]) == 1
    assert sum(d[0] for d in stored_daily(engine, [a, b]).values()) == 2


def test_same_event_id_from_two_users_is_two_readings(engine: Engine) -> None:
    _same_id_from_two_users(engine, raw=False)


@pytest.mark.postgres
def test_same_event_id_from_two_users_on_postgresql(pg: Engine) -> None:
    _same_id_from_two_users(pg, raw=False)


@pytest.mark.postgres
def test_same_event_id_from_two_users_through_the_raw_store(pg: Engine) -> None:
    _same_id_from_two_users(pg, raw=True)
