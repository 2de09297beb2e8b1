"""Daily partitions of ``emotion_events`` on PostgreSQL: created ahead, dropped whole.

Migration 0004 makes ``emotion_events`` a range-partitioned table on ``occurred_at`` (the reading's
time) with one partition per UTC day, ``emotion_events_pYYYYMMDD``, and a DEFAULT partition
``emotion_events_default`` as a safety net: a reading whose day has no partition yet is stored
there instead of being refused (nothing is dead-lettered for want of DDL). SQLite keeps the plain
table; every function here is a no-op on it.

* **Ahead of time.** The stream consumer (at start and hourly) and the retention job call
  ``ensure_partitions``: the days a reading may fall on, from ``MAX_AGE`` (7 days) ago to
  ``AHEAD_DAYS`` ahead. Each missing day is created standalone, given the DEFAULT partition's rows
  of that day if it holds any, then ATTACHed: ATTACH locks the parent only in SHARE UPDATE
  EXCLUSIVE mode, so inserts go on meanwhile (``CREATE TABLE … PARTITION OF`` would block them).
  A transaction-level advisory lock serialises concurrent callers.
* **Dropped whole.** ``drop_partitions_before`` DETACHes and DROPs the days entirely older than the
  retention cut-off: no row-by-row DELETE, no bloat, no vacuum debt. Rows of the day straddling the
  cut-off (and any in DEFAULT) are still deleted by rows, so retention stays exact to the second.
  DDL waits at most ``LOCK_TIMEOUT`` for its lock and otherwise leaves the day for the next run.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from ecs.stream.messages import MAX_AGE

log = logging.getLogger("ecs.partitions")

PARENT = "emotion_events"
DEFAULT = f"{PARENT}_default"
AHEAD_DAYS = 3
LOCK_TIMEOUT = "5s"
_NAME = re.compile(rf"^{PARENT}_p(\d{{8}})$")
_LOCK_KEY = 0x45435350  # "ECSP": one advisory lock for every partition change


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": PARENT}
    ).scalar()
    return kind == "p"


def partition_days(conn: Connection) -> list[date]:
    """The days that have their own partition, oldest first (the DEFAULT one is not a day)."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": PARENT},
    ).scalars()
    days = [_day_of(name) for name in names]
    return sorted(d for d in days if d is not None)


def _day_of(name: str) -> date | None:
    match = _NAME.match(name)
    return datetime.strptime(match.group(1), "%Y%m%d").date() if match else None


def wanted_days(today: date, *, ahead: int = AHEAD_DAYS) -> list[date]:
    """Every day a reading accepted now can fall on (the API refuses older or later ones)."""
    first = today - timedelta(days=MAX_AGE.days)
    return [first + timedelta(days=i) for i in range((today - first).days + ahead + 1)]


def ensure_partitions(engine: Engine, days: list[date]) -> list[date]:
    """Create the missing partitions among ``days``; returns the days created."""
    created: list[date] = []
    with engine.begin() as conn:
        if not is_partitioned(conn):
            return created
        existing = set(partition_days(conn))
        missing = [d for d in sorted(set(days)) if d not in existing]
        if not missing:
            return created
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        existing = set(partition_days(conn))  # another process may have won the lock first
        for day in missing:
            if day not in existing:
                _create(conn, day)
                created.append(day)
    if created:
        log.info("emotion partitions created", extra={"days": [d.isoformat() for d in created]})
    return created


def _create(conn: Connection, day: date) -> None:
    name, (start, end) = partition_name(day), _bounds(day)
    bounds = {"start": start, "end": end}
    conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
    # Rows that landed in DEFAULT for this day move with it (ATTACH refuses overlaps otherwise).
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE occurred_at >= :start "
            f"AND occurred_at < :end RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    )
    conn.execute(
        text(
            f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )


def drop_partitions_before(engine: Engine, cutoff: datetime) -> list[date]:
    """Drop every day whose readings are all older than ``cutoff``; returns the days dropped."""
    dropped: list[date] = []
    with engine.connect() as conn:
        if not is_partitioned(conn):
            return dropped
        days = [d for d in partition_days(conn) if _bounds(d)[1] <= cutoff]
    for day in days:
        name = partition_name(day)
        try:
            with engine.begin() as conn:
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
                conn.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {name}"))
                conn.execute(text(f"DROP TABLE {name}"))
        except OperationalError as exc:  # lock timeout: busy now, the next run drops it
            log.warning("partition not dropped", extra={"partition": name, "error": str(exc)})
            continue
        dropped.append(day)
    if dropped:
        log.info("emotion partitions dropped", extra={"days": [d.isoformat() for d in dropped]})
    return dropped
