"""The consumer's database write: raw readings + daily aggregates in one transaction.

Exactly-once *effects* over an at-least-once stream rest on one trick: the raw insert is
``ON CONFLICT <reading key> DO NOTHING RETURNING user_id, event_id``, and the aggregates are
incremented only for the readings that statement returned. Event ids are the client's, so they
are unique per user, never across users (migration 0007): the reading key is
``(event_id, user_id)`` on SQLite and ``(user_id, occurred_at, event_id)`` on PostgreSQL, whose
partitioned table needs the partition key in every unique index (migrations 0004, 0007 and
0009 explain why that deduplicates every redelivery just the same). A redelivered reading
therefore changes nothing, and a concurrent duplicate (two consumers after a claim) blocks on the
primary key until the first transaction commits, then is skipped. Both run in the same
transaction, so raw rows and sums can never disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ecs.db.tables import CreditDecision, EmotionDaily, EmotionEvent, User
from ecs.db.types import utcnow
from ecs.domain.emotions import CoolingOffThresholds, is_acute_distress
from ecs.domain.status import OPEN_DECISION_STATUSES, DecisionStatus
from ecs.stream.messages import PoisonEntry, StreamReading

EVENTS = EmotionEvent.__table__  # type: ignore[attr-defined]
DAILY = EmotionDaily.__table__  # type: ignore[attr-defined]
DECISIONS = CreditDecision.__table__  # type: ignore[attr-defined]
USERS = User.__table__  # type: ignore[attr-defined]


class UnknownUser(PoisonEntry):
    """Readings of a user id that is not a user: a data problem, for the dead-letter stream.

    Checked here rather than by a foreign key: on PostgreSQL the key's per-row trigger was a
    quarter of the insert (migration 0009), and SQLite's still stands behind this check.
    """


def _without_consent(conn: Connection, user_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Users who exist but may no longer have emotions stored (consent withdrawn or erased).

    The API refuses their readings, but some may already sit in the stream when consent is
    withdrawn. Unknown users raise ``UnknownUser``: their entries are isolated into the
    dead-letter stream, where a data problem belongs.
    """
    query = select(USERS.c.id, USERS.c.consent_emotion_processing, USERS.c.erased_at).where(
        USERS.c.id.in_(user_ids)
    )
    rows = conn.execute(query).all()
    unknown = set(user_ids) - {row.id for row in rows}
    if unknown:
        raise UnknownUser(f"readings for {len(unknown)} unknown user id(s)")
    return {row.id for row in rows if not row.consent_emotion_processing or row.erased_at}


ReadingKey = tuple[uuid.UUID, uuid.UUID]  # (user_id, event_id)


@dataclass
class PersistResult:
    # readings this transaction stored (new (user id, event id) pairs: one user's event id never
    # stands for another user's reading)
    stored: int = 0
    duplicates: int = 0
    # Readings of users who withdrew consent or were erased after the app sent them: dropped.
    refused: int = 0
    # user id → workflow id of that user's open credit decision (only users in the batch).
    open_workflows: dict[uuid.UUID, str] = field(default_factory=dict)
    # users (among those) whose decision is in its cooling-off pause
    cooling_off: set[uuid.UUID] = field(default_factory=set)


def _insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert support for {conn.dialect.name}")


def daily_rows(
    readings: Sequence[StreamReading], thresholds: CoolingOffThresholds, now: datetime
) -> list[dict[str, Any]]:
    """Sums per (user, UTC day), sorted so every transaction locks rows in the same order
    (two consumers upserting the same users in different orders could otherwise deadlock)."""
    sums: dict[tuple[uuid.UUID, date], list[float]] = {}
    for r in readings:
        key = (r.user_id, r.occurred_at.date())  # occurred_at is UTC: days are UTC days
        acc = sums.setdefault(key, [0, 0.0, 0.0, 0.0, 0])
        acc[0] += 1
        acc[1] += r.positivity
        acc[2] += r.intensity
        acc[3] += r.stress
        acc[4] += 1 if is_acute_distress(r.stress, r.intensity, thresholds) else 0
    return [
        {
            "user_id": user_id,
            "day": day,
            "readings": int(acc[0]),
            "positivity_sum": acc[1],
            "intensity_sum": acc[2],
            "stress_sum": acc[3],
            "distress_count": int(acc[4]),
            "updated_at": now,
        }
        for (user_id, day), acc in sorted(sums.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))
    ]


DAILY_CHUNK = 500  # rows per multi-VALUES upsert: 4,000 parameters, far below SQLite's limit


def _daily_upsert(conn: Connection, rows: list[dict[str, Any]]) -> Any:
    """One multi-row upsert. Keys are distinct (``daily_rows`` grouped them), which is what
    ``ON CONFLICT DO UPDATE`` requires of a single statement."""
    insert = _insert(conn, DAILY).values(rows)
    excluded = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=["user_id", "day"],
        set_={
            "readings": DAILY.c.readings + excluded.readings,
            "positivity_sum": DAILY.c.positivity_sum + excluded.positivity_sum,
            "intensity_sum": DAILY.c.intensity_sum + excluded.intensity_sum,
            "stress_sum": DAILY.c.stress_sum + excluded.stress_sum,
            "distress_count": DAILY.c.distress_count + excluded.distress_count,
            "updated_at": excluded.updated_at,
        },
    )


def persist(
    engine: Engine,
    readings: Sequence[StreamReading],
    thresholds: CoolingOffThresholds,
    *,
    lookup_open_decisions: bool = True,
) -> PersistResult:
    """Insert new readings, bump aggregates for the new ones, find open decisions; one commit."""
    unique: dict[ReadingKey, StreamReading] = {}
    for r in readings:
        unique.setdefault((r.user_id, r.event_id), r)
    ordered = sorted(unique.values(), key=lambda r: (str(r.user_id), str(r.event_id)))
    result = PersistResult()
    now = utcnow()
    with engine.begin() as conn:
        if ordered:
            refused_users = _without_consent(conn, sorted({r.user_id for r in ordered}, key=str))
            if refused_users:
                kept = [r for r in ordered if r.user_id not in refused_users]
                result.refused = len(ordered) - len(kept)
                ordered = kept
        if ordered:
            if conn.dialect.name == "postgresql":
                result.stored = len(_copy_insert(conn, ordered, thresholds))
            else:
                result.stored = len(_row_insert(conn, ordered, thresholds, now))
            result.duplicates = len(readings) - result.stored - result.refused
        else:
            result.duplicates = len(readings) - result.refused
        if lookup_open_decisions and unique:
            user_ids = sorted({r.user_id for r in unique.values()}, key=str)
            query = select(DECISIONS.c.user_id, DECISIONS.c.workflow_id, DECISIONS.c.status).where(
                DECISIONS.c.user_id.in_(user_ids),
                DECISIONS.c.status.in_([s.value for s in OPEN_DECISION_STATUSES]),
            )
            for row in conn.execute(query):
                result.open_workflows[row.user_id] = row.workflow_id
                if row.status == DecisionStatus.COOLING_OFF:
                    result.cooling_off.add(row.user_id)
    return result


def _row_insert(
    conn: Connection,
    ordered: Sequence[StreamReading],
    thresholds: CoolingOffThresholds,
    now: datetime,
) -> set[ReadingKey]:
    """Portable path (SQLite): multi-row INSERT ... RETURNING, then aggregate the new rows."""
    stmt = (
        _insert(conn, EVENTS)
        .on_conflict_do_nothing(index_elements=["user_id", "event_id"])
        .returning(EVENTS.c.user_id, EVENTS.c.event_id)
    )
    rows = [
        {
            "event_id": r.event_id,
            "user_id": r.user_id,
            "occurred_at": r.occurred_at,
            "received_at": r.received_at,
            "kind": r.kind,
            "positivity": r.positivity,
            "intensity": r.intensity,
            "stress": r.stress,
            "context": r.context,
        }
        for r in ordered
    ]
    # executemany + RETURNING uses SQLAlchemy's "insertmanyvalues": multi-row VALUES pages of
    # 1,000, so a batch costs a handful of round trips, not one per row.
    inserted: set[ReadingKey] = {(row[0], row[1]) for row in conn.execute(stmt, rows)}
    fresh = [r for r in ordered if (r.user_id, r.event_id) in inserted]
    if fresh:
        aggregates = daily_rows(fresh, thresholds, now)
        for start in range(0, len(aggregates), DAILY_CHUNK):
            conn.execute(_daily_upsert(conn, aggregates[start : start + DAILY_CHUNK]))
    return inserted


STAGING = "ecs_emotion_staging"
CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (LIKE emotion_events) ON COMMIT DELETE ROWS"
)
_COPY_COLUMNS = (
    "event_id, user_id, occurred_at, received_at, kind, positivity, intensity, stress, context"
)
# One statement: insert the staged rows that are new, and fold exactly those (RETURNING) into
# the daily sums; the same exactly-once rule as the portable path, computed by PostgreSQL.
# ORDER BY keeps the lock order stable across consumers (no deadlocks between two batches).
_CONFLICT = "ON CONFLICT (user_id, occurred_at, event_id) DO NOTHING"
_MERGE_STAGED = f"""
WITH ins AS (
    INSERT INTO emotion_events SELECT * FROM {STAGING} ORDER BY user_id, event_id
    {_CONFLICT}
    RETURNING event_id, user_id, occurred_at, positivity, intensity, stress
), agg AS (
    INSERT INTO emotion_daily (user_id, day, readings, positivity_sum, intensity_sum,
                               stress_sum, distress_count, updated_at)
    SELECT user_id, (occurred_at AT TIME ZONE 'UTC')::date, count(*), sum(positivity),
           sum(intensity), sum(stress),
           count(*) FILTER (WHERE stress >= %(stress)s AND intensity >= %(intensity)s), now()
    FROM ins GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (user_id, day) DO UPDATE SET
        readings = emotion_daily.readings + excluded.readings,
        positivity_sum = emotion_daily.positivity_sum + excluded.positivity_sum,
        intensity_sum = emotion_daily.intensity_sum + excluded.intensity_sum,
        stress_sum = emotion_daily.stress_sum + excluded.stress_sum,
        distress_count = emotion_daily.distress_count + excluded.distress_count,
        updated_at = excluded.updated_at
)
"""
MERGE_STAGED = _MERGE_STAGED + "SELECT user_id, event_id FROM ins"
MERGE_STAGED_COUNT = _MERGE_STAGED + "SELECT count(*) FROM ins"
"""The fast path needs only how many were new: returning thousands of keys to Python for a count
was a third of the consumer's CPU (py-spy, ``bench/ingest.py``)."""
MERGE_STAGED_NEW_COUNT = MERGE_STAGED_COUNT.replace(_CONFLICT, "")
"""For a batch believed new: fails on the first stored reading (see ``rawstore._merge``)."""


def _copy_insert(
    conn: Connection, ordered: Sequence[StreamReading], thresholds: CoolingOffThresholds
) -> set[ReadingKey]:
    """PostgreSQL path: COPY into a session temp table, then one merge statement.

    Measured ~6x the portable path (about 60k vs 10k readings/s per consumer on 2 cores): COPY
    skips per-row SQL parameters, and the aggregation runs where the rows already are.
    """
    try:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(CREATE_STAGING)
        with cursor.copy(f"COPY {STAGING} ({_COPY_COLUMNS}) FROM STDIN") as copy:
            for r in ordered:
                copy.write_row(
                    (
                        r.event_id, r.user_id, r.occurred_at, r.received_at, r.kind,
                        r.positivity, r.intensity, r.stress,
                        None if r.context is None else Jsonb(r.context),
                    )
                )  # fmt: skip
        cursor.execute(
            MERGE_STAGED,
            {"stress": thresholds.distress_stress, "intensity": thresholds.distress_intensity},
        )
        return {(row[0], row[1]) for row in cursor.fetchall()}
    except psycopg.Error as exc:
        # The raw driver bypasses SQLAlchemy's exception wrapping; restore it, so the consumer
        # still tells poison (integrity/data errors: dead-letter) from an outage (hold + retry).
        raise DBAPIError.instance(
            MERGE_STAGED, None, exc, psycopg.Error, dialect=conn.dialect
        ) from exc
