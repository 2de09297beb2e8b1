"""What the parts allow, measured in the same run as the end-to-end figure.

* **Raw XADD**: the same entries the API writes (one per request of ``batch`` readings, already
  encoded), pipelined 64 at a time by one client: what one Redis and one producer core take.
* **Raw COPY**: the same rows, binary COPY straight into ``emotion_events`` (its indexes and
  partitions included, no deduplication, no aggregates, no consent check), 1,000 rows per
  transaction: what the table takes from one writer.

The end-to-end figure reads as a fraction of these; neither is reachable by the whole system,
which runs both, plus HTTP, validation, deduplication and aggregates, on the same cores.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import redis.asyncio as aioredis

from ecs.stream.messages import StreamReading, encode_entry

PIPELINE = 64
COPY_ROWS = 1000
COPY_COLUMNS = (
    "event_id, user_id, occurred_at, received_at, kind, positivity, intensity, stress, context"
)
COPY_TYPES = ["uuid", "uuid", "timestamptz", "timestamptz", "varchar", "float8", "float8",
              "float8", "json"]  # fmt: skip


def sample_readings(users: list[uuid.UUID], count: int) -> list[StreamReading]:
    now = datetime.now(UTC)
    return [_reading(users[i % len(users)], i, now) for i in range(count)]


def _reading(user: uuid.UUID, i: int, now: datetime) -> StreamReading:
    at = now - timedelta(milliseconds=i)
    return StreamReading(uuid.uuid4(), user, at, "reading", 0.5, 0.4, (i % 100) / 100, None, now)


async def xadd_ceiling(redis_url: str, readings: list[StreamReading], batch: int) -> float:
    """Readings/s appended by pipelined XADD of request-sized entries (the key is deleted)."""
    stream = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
    entries = [encode_entry(readings[i : i + batch]) for i in range(0, len(readings), batch)]
    client = aioredis.Redis.from_url(redis_url, socket_timeout=30)
    try:
        started = time.perf_counter()
        for start in range(0, len(entries), PIPELINE):
            async with client.pipeline(transaction=False) as pipe:
                for fields in entries[start : start + PIPELINE]:
                    pipe.xadd(stream, fields)  # type: ignore[arg-type]
                await pipe.execute()
        seconds = time.perf_counter() - started
        await client.delete(stream)
    finally:
        await client.aclose()
    return len(readings) / seconds


def copy_ceiling(database_url: str, readings: list[StreamReading]) -> float:
    """Rows/s of binary COPY into ``emotion_events`` (the rows are deleted afterwards)."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for start in range(0, len(readings), COPY_ROWS):
            with conn.cursor() as cursor:
                copy_sql = f"COPY emotion_events ({COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)"
                with cursor.copy(copy_sql) as copy:
                    copy.set_types(COPY_TYPES)
                    for r in readings[start : start + COPY_ROWS]:
                        copy.write_row(
                            (r.event_id, r.user_id, r.occurred_at, r.received_at, r.kind,
                             r.positivity, r.intensity, r.stress, None)
                        )  # fmt: skip
            conn.commit()
        seconds = time.perf_counter() - started
        users = sorted({r.user_id for r in readings}, key=str)
        conn.execute("DELETE FROM emotion_events WHERE user_id = ANY(%s)", (users,))
        conn.commit()
    return len(readings) / seconds
