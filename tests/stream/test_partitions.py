"""Daily partitions of emotion_events on PostgreSQL: dedup, ahead-of-time days, drops, plans.

Each test module gets a fresh PostgreSQL database (migrated to head), so partitions created or
dropped here never touch the suite's shared database.
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ecs.domain.emotions import CoolingOffThresholds
from ecs.retention import apply_retention
from ecs.settings import Settings
from ecs.stream.partitions import (
    DEFAULT,
    drop_partitions_before,
    ensure_partitions,
    partition_days,
    partition_name,
    wanted_days,
)
from ecs.stream.store import persist
from tests.stream.helpers import (
    assert_daily_matches,
    count_events,
    make_users,
    reading,
    stored_event_ids,
)

pytestmark = pytest.mark.postgres
THRESHOLDS = CoolingOffThresholds(distress_stress=0.8, distress_intensity=0.6, calm_stress=0.5)
SQL = Path(__file__).resolve().parents[2] / "docs" / "sql" / "emotions_last_week.sql"
TODAY = datetime.now(UTC).date()


def _home(engine: Engine, event_id: uuid.UUID) -> str:
    """The partition a reading is stored in."""
    query = text("SELECT tableoid::regclass::text FROM emotion_events WHERE event_id = :e")
    with engine.connect() as conn:
        return str(conn.execute(query, {"e": event_id}).scalar_one())


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def test_the_migration_leaves_the_days_readings_can_fall_on(pg: Engine) -> None:
    with pg.connect() as conn:
        days = set(partition_days(conn))
    assert set(wanted_days(TODAY)) <= days  # 7 days back (MAX_AGE) to 3 ahead


def test_redelivered_readings_are_stored_once_across_partitions(pg: Engine) -> None:
    users = make_users(pg, 5)
    rng = random.Random(4)
    readings = [
        reading(rng.choice(users), occurred_at=_at(TODAY - timedelta(days=rng.randint(0, 6))))
        for _ in range(600)
    ]
    first = persist(pg, readings[:400], THRESHOLDS)
    again = persist(pg, readings, THRESHOLDS)  # 400 redelivered, 200 new
    assert first.stored == 400 and again.stored == 200
    assert again.duplicates == 400
    ids = stored_event_ids(pg, users)
    assert len(ids) == len(set(ids)) == 600
    assert_daily_matches(pg, users, readings)  # nothing counted twice
    homes = {_home(pg, r.event_id) for r in readings[:50]}
    assert len(homes) > 1 and DEFAULT not in homes  # spread over the days' partitions


def test_a_day_without_partition_goes_to_default_then_moves_with_its_new_partition(
    pg: Engine,
) -> None:
    (user,) = make_users(pg, 1)
    far = TODAY + timedelta(days=40)  # no partition yet: ahead-of-time creation covers 3 days
    early = reading(user, occurred_at=_at(far))
    persist(pg, [early], THRESHOLDS)
    assert _home(pg, early.event_id) == DEFAULT  # stored, not refused

    assert ensure_partitions(pg, [far]) == [far]
    assert _home(pg, early.event_id) == partition_name(far)
    assert ensure_partitions(pg, [far]) == []  # idempotent
    persist(pg, [early], THRESHOLDS)  # a redelivery after the move is still a no-op
    assert count_events(pg, [user]) == 1


def test_retention_drops_whole_days_and_deletes_only_the_straddling_rows(
    pg: Engine, base_settings: Settings
) -> None:
    (user,) = make_users(pg, 1)
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=base_settings.emotion_retention_days)
    old_days = [cutoff.date() - timedelta(days=i) for i in range(1, 4)]
    ensure_partitions(pg, [*old_days, cutoff.date()])
    gone = [reading(user, occurred_at=_at(d)) for d in old_days]
    straddling_old = reading(user, occurred_at=cutoff - timedelta(seconds=1))
    straddling_kept = reading(user, occurred_at=cutoff + timedelta(seconds=1))
    recent = reading(user, occurred_at=now - timedelta(days=1))
    with pg.begin() as conn:  # older than the API accepts: written as a backfill would
        conn.execute(
            text(
                "INSERT INTO emotion_events (event_id, user_id, occurred_at, received_at, kind, "
                "positivity, intensity, stress) VALUES (:e, :u, :t, :t, 'reading', 0.5, 0.5, 0.5)"
            ),
            [
                {"e": r.event_id, "u": user, "t": r.occurred_at}
                for r in [*gone, straddling_old, straddling_kept]
            ],
        )
    persist(pg, [recent], THRESHOLDS)

    report = apply_retention(pg, base_settings, now)

    with pg.connect() as conn:
        days = set(partition_days(conn))
    assert not days & set(old_days) and cutoff.date() in days  # whole days dropped, not rows
    assert report.partitions_dropped >= len(old_days)
    assert report.readings_deleted >= 1  # the straddling day, by rows, to the second
    left = set(stored_event_ids(pg, [user]))
    assert left == {straddling_kept.event_id, recent.event_id}
    assert (
        set(wanted_days(now.date())) - {d for d in wanted_days(now.date()) if d < cutoff.date()}
        <= days
    )
    assert drop_partitions_before(pg, cutoff) == []  # idempotent


def test_the_documented_query_prunes_partitions_and_uses_the_user_time_index(pg: Engine) -> None:
    users = make_users(pg, 200)
    rng = random.Random(9)
    readings = [
        reading(u, occurred_at=_at(TODAY - timedelta(days=rng.randint(0, 13)), rng.randint(0, 11)))
        for u in users
        for _ in range(30)
    ]
    persist(pg, readings, THRESHOLDS)
    with pg.begin() as conn:
        conn.execute(text("ANALYZE emotion_events"))
        since = datetime.now(UTC) - timedelta(days=7)  # the query's `since` parameter
        plan = "\n".join(
            conn.execute(
                text("EXPLAIN " + SQL.read_text()), {"user_id": users[0], "since": since}
            ).scalars()
        )
    scanned = re.findall(r"(?<!Bitmap )(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)"
                         r"(?: Backward)?(?: using \S+)? on (emotion_events\w*)", plan)  # fmt: skip
    assert any(kind != "Seq Scan" for kind, _ in scanned), plan
    # 14 days hold rows; no day before the week is planned (pruned), only the week's days, the
    # days created ahead of time and the DEFAULT partition.
    days = {
        date(int(m[1:5]), int(m[5:7]), int(m[7:9]))
        for _, partition in scanned
        if (m := partition.removeprefix("emotion_events_")).startswith("p") and m[1:].isdigit()
    }
    assert days and min(days) >= since.date(), plan
    with pg.connect() as conn:
        for kind, partition in scanned:
            rows = conn.execute(text(f"SELECT count(*) FROM {partition}")).scalar_one()
            if rows >= 100:  # ~2 pages and more: the index; below, one page read beats it
                assert kind != "Seq Scan", plan
