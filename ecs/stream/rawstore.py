"""The PostgreSQL fast path: the entries' JSON handed to PostgreSQL as it is.

Measured (``bench/ingest.py``, CPU from ``/proc``): decoding each reading into a Python object and
adapting it again for COPY was most of the consumer's CPU, ~17 µs per reading. Here the consumer
only joins the entries' JSON arrays into one and PostgreSQL parses it (``json_to_recordset``,
C code; ``json``, not ``jsonb``: building the binary form first took twice the parse time) into
the same session staging table the COPY path uses, then runs the same merge
(``ecs.stream.store.MERGE_STAGED_COUNT``): the same exactly-once rule, consent filter and
open-decision lookup, in one transaction.

The fast path only takes batches it can judge exactly like ``StreamReading.from_wire`` would:
every reading with both ids, timestamps with an offset, a known kind, metrics in 0..1, a context
that is an object or null, and a user that exists. Anything else (or any error PostgreSQL raises
on the data) returns ``None`` after a rollback, and the consumer takes the portable path for that
batch, which decodes in Python and isolates the culprit into the dead-letter stream as before.
Python objects are built only for the readings the signaller needs (users with an open
decision, a small minority).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from ecs.domain.emotions import CoolingOffThresholds
from ecs.domain.status import OPEN_DECISION_STATUSES, DecisionStatus
from ecs.stream.messages import (
    FIELD_READINGS,
    FIELD_VERSION,
    WIRE_VERSION,
    EmotionKind,
    StreamReading,
)
from ecs.stream.store import (
    CREATE_STAGING,
    MERGE_STAGED_COUNT,
    MERGE_STAGED_NEW_COUNT,
    STAGING,
    PersistResult,
)

# Ends in a UTC offset as ``isoformat`` writes it, or Z: a LIKE is half the cost of the regular
# expression it replaced. Offsets it does not recognise (``+05``, ``+0530``) are not refused, only
# left to the portable path, which accepts what ``datetime.fromisoformat`` does.
_AWARE = "({c} LIKE '%%+__:__' OR {c} LIKE '%%-__:__' OR {c} LIKE '%%Z')"
_STAGE = f"""
WITH src AS (
    SELECT r.* FROM json_to_recordset(%(batch)s::json) AS r(
        event_id uuid, user_id uuid, occurred_at text, received_at text, kind text,
        positivity float8, intensity float8, stress float8, context json)
), good AS (
    SELECT * FROM src
    WHERE event_id IS NOT NULL AND user_id IS NOT NULL
      AND {_AWARE.format(c="occurred_at")} AND {_AWARE.format(c="received_at")}
      AND kind = ANY(%(kinds)s)
      AND positivity BETWEEN 0 AND 1 AND intensity BETWEEN 0 AND 1 AND stress BETWEEN 0 AND 1
      AND (context IS NULL OR json_typeof(context) IN ('object', 'null'))
), staged AS (
    INSERT INTO {STAGING} (event_id, user_id, occurred_at, received_at, kind, positivity,
                           intensity, stress, context)
    SELECT DISTINCT ON (user_id, event_id) event_id, user_id, occurred_at::timestamptz,
           received_at::timestamptz, kind, positivity, intensity, stress, context
    FROM good ORDER BY user_id, event_id
    RETURNING user_id
)
SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM good),
       (SELECT count(*) FROM (SELECT DISTINCT user_id FROM staged) s
        LEFT JOIN users u ON u.id = s.user_id WHERE u.id IS NULL)
"""
_OPEN = f"""
SELECT d.user_id, d.workflow_id, d.status FROM credit_decisions d
WHERE d.status = ANY(%(open)s) AND d.user_id IN (SELECT DISTINCT user_id FROM {STAGING})
"""
_FOR_SIGNALS = f"""
SELECT event_id, user_id, occurred_at, kind, positivity, intensity, stress, context, received_at
FROM {STAGING} WHERE user_id = ANY(%(users)s)
"""
_REFUSE = f"""
DELETE FROM {STAGING} s USING users u
WHERE u.id = s.user_id AND (NOT u.consent_emotion_processing OR u.erased_at IS NOT NULL)
"""
_KINDS = [k.value for k in EmotionKind]


@dataclass
class RawResult:
    readings: int
    result: PersistResult
    for_signals: list[StreamReading]  # the batch's readings of users with an open decision


def joined_readings(fields: Sequence[dict[bytes, bytes] | None]) -> bytes | None:
    """The entries' reading arrays as one JSON array, or ``None`` if any entry is not plainly
    of the current wire version (those are the portable path's to judge)."""
    parts: list[bytes] = []
    for entry in fields:
        if not entry or entry.get(FIELD_VERSION) != WIRE_VERSION:
            return None
        raw = entry.get(FIELD_READINGS, b"").strip()
        if len(raw) < 3 or raw[:1] != b"[" or raw[-1:] != b"]":
            return None
        parts.append(raw[1:-1])
    return b"[" + b",".join(parts) + b"]" if parts else None


class _PortablePath(Exception):
    """Raised inside the transaction to roll it back: the batch needs the portable path."""


def persist_raw(engine: Engine, batch: bytes, thresholds: CoolingOffThresholds) -> RawResult | None:
    """Stage, check, merge ``batch`` in one transaction; ``None``: rolled back, use the
    portable path. Connection-level errors propagate (the consumer holds the batch)."""
    try:
        with engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(CREATE_STAGING)
            cursor.execute(_STAGE, {"batch": batch.decode(), "kinds": _KINDS})
            total, good, unknown = cursor.fetchone()
            if total != good or unknown:
                raise _PortablePath
            result = PersistResult()
            cursor.execute(_OPEN, {"open": [s.value for s in OPEN_DECISION_STATUSES]})
            for user_id, workflow_id, status in cursor.fetchall():
                result.open_workflows[user_id] = workflow_id
                if status == DecisionStatus.COOLING_OFF:
                    result.cooling_off.add(user_id)
            for_signals = _readings_of(cursor, list(result.open_workflows))
            cursor.execute(_REFUSE)
            result.refused = cursor.rowcount
            result.stored = _merge(cursor, thresholds)
            result.duplicates = total - result.stored - result.refused
            return RawResult(readings=total, result=result, for_signals=for_signals)
    except (_PortablePath, psycopg.DataError, psycopg.IntegrityError, UnicodeDecodeError):
        return None
    except psycopg.Error as exc:  # an outage, not the data: the consumer holds and retries
        raise DBAPIError.instance(_STAGE, None, exc, psycopg.Error) from exc


def _merge(cursor: psycopg.Cursor[tuple[object, ...]], thresholds: CoolingOffThresholds) -> int:
    """Merge the staged readings; how many were new.

    A plain INSERT first: a redelivered reading is rare, and ``ON CONFLICT DO NOTHING`` probes
    the primary key before every insertion, which made it the costliest part of the merge
    (``bench/ingest.py``, PostgreSQL CPU per reading 24 -> 21 µs with the LIKE above). When the
    batch does hold a stored reading, the plain INSERT fails as a whole and is rolled back to
    the savepoint, and the merge runs again with the conflict clause.
    """
    params = {"stress": thresholds.distress_stress, "intensity": thresholds.distress_intensity}
    cursor.execute("SAVEPOINT ecs_plain_merge")
    try:
        cursor.execute(MERGE_STAGED_NEW_COUNT, params)
    except psycopg.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT ecs_plain_merge")
        cursor.execute(MERGE_STAGED_COUNT, params)
    row = cursor.fetchone()
    count = row[0] if row else None
    assert isinstance(count, int)
    return count


def _readings_of(
    cursor: psycopg.Cursor[tuple[object, ...]], users: list[uuid.UUID]
) -> list[StreamReading]:
    if not users:
        return []
    cursor.execute(_FOR_SIGNALS, {"users": users})
    return [StreamReading(*row) for row in cursor.fetchall()]  # type: ignore[arg-type]
