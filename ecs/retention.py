"""Retention of emotional data: delete what ECS no longer has a reason to keep (LGPD Art. 15/16).

Raw readings are the most sensitive rows ECS holds and the least needed: decisions read the
*daily aggregates* (30 days) and the latest reading only. So raw readings live
``ECS_EMOTION_RETENTION_DAYS`` (90 by default) and daily aggregates
``ECS_EMOTION_DAILY_RETENTION_DAYS`` (730: enough for trend dashboards and to explain past
decisions, whose features are kept in the append-only decision records anyway).

The job also sweeps emotion rows of users without a legal basis for them (consent withdrawn, or
erased). The consent endpoint and erasure delete those rows at once, but readings the API had
already accepted into the stream can land in the database afterwards (the stream consumer does not
re-check consent); the sweep bounds that window to the job's schedule.

On PostgreSQL raw readings are partitioned by day (migration 0004): whole days past the cut-off
are dropped (``ecs.stream.partitions``), which is where nearly all of the deleting happens; rows
are deleted one by one only in the day straddling the cut-off, in the DEFAULT partition and for
the consent sweep. The job also creates the coming days' partitions ahead of time.

Deletes run in batches of ``batch_size`` rows, each its own short transaction, selecting the
batch through a subquery on the row's key (``DELETE … WHERE (occurred_at, event_id) IN (SELECT …
LIMIT n)``, valid on PostgreSQL and SQLite; on PostgreSQL it is the partitioned primary key), so
a large backlog never holds a long lock against the stream consumer that inserts into the same
tables. The job needs only the database: it runs while the stream
consumer, the API and the worker are up or down (``ecs retention`` from cron or a Kubernetes
CronJob; idempotent, so an overlapping or repeated run is harmless).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, false, or_, select, tuple_

from ecs.db.tables import EmotionDaily, EmotionEvent, User
from ecs.settings import Settings
from ecs.stream.partitions import drop_partitions_before, ensure_partitions, wanted_days

log = logging.getLogger("ecs.retention")

DEFAULT_BATCH_SIZE = 10_000
EVENTS: Any = EmotionEvent.__table__  # type: ignore[attr-defined]
DAILY: Any = EmotionDaily.__table__  # type: ignore[attr-defined]
USERS: Any = User.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RetentionReport:
    """What one run deleted, and the cut-offs it applied (rows strictly older are gone)."""

    readings_cutoff: datetime
    daily_cutoff: date
    readings_deleted: int
    daily_deleted: int
    partitions_dropped: int
    unconsented_readings_deleted: int
    unconsented_daily_deleted: int

    def summary(self) -> str:
        return (
            f"retention: deleted {self.readings_deleted} raw emotion readings older than "
            f"{self.readings_cutoff.isoformat()} (and dropped {self.partitions_dropped} daily "
            f"partitions of them), {self.daily_deleted} daily aggregates older "
            f"than {self.daily_cutoff.isoformat()}; swept {self.unconsented_readings_deleted} "
            f"readings and {self.unconsented_daily_deleted} daily aggregates of users without "
            "consent or erased"
        )


def cutoffs(settings: Settings, now: datetime) -> tuple[datetime, date]:
    """Readings before the first value and daily rows before the second (a UTC day) expire."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    readings = now - timedelta(days=settings.emotion_retention_days)
    daily = (now - timedelta(days=settings.emotion_daily_retention_days)).date()
    return readings, daily


def _without_legal_basis() -> Any:
    """Ids of users whose emotional data ECS may not hold: no consent, or erased."""
    return select(USERS.c.id).where(
        or_(USERS.c.consent_emotion_processing == false(), USERS.c.erased_at.is_not(None))
    )


def _delete_events(
    where: ColumnElement[bool], batch_size: int, *, prune: ColumnElement[bool] | None = None
) -> Any:
    """``prune`` repeats the age bound outside the subquery so PostgreSQL skips the partitions
    it cannot match (the subquery alone would have every partition probed)."""
    key = tuple_(EVENTS.c.occurred_at, EVENTS.c.event_id)
    batch = select(EVENTS.c.occurred_at, EVENTS.c.event_id).where(where).limit(batch_size)
    statement = delete(EVENTS).where(key.in_(batch))
    return statement if prune is None else statement.where(prune)


def _delete_daily(where: ColumnElement[bool], batch_size: int) -> Any:
    batch = select(DAILY.c.user_id, DAILY.c.day).where(where).limit(batch_size)
    return delete(DAILY).where(tuple_(DAILY.c.user_id, DAILY.c.day).in_(batch))


def _in_batches(engine: Engine, statement: Any, batch_size: int, what: str) -> int:
    """Run ``statement`` (which deletes at most ``batch_size`` rows) until a batch comes up short.

    One transaction per batch: locks are held for one batch only, and a crash loses nothing but
    the batch in flight (the next run simply continues).
    """
    total = 0
    while True:
        with engine.begin() as conn:
            deleted = int(conn.execute(statement).rowcount or 0)
        total += deleted
        if deleted:
            log.debug("retention batch", extra={"table": what, "deleted": deleted})
        if deleted < batch_size:
            return total


def apply_retention(
    engine: Engine, settings: Settings, now: datetime, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> RetentionReport:
    """Delete expired emotional data and emotion rows without a legal basis; report the counts."""
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    readings_cutoff, daily_cutoff = cutoffs(settings, now)
    no_basis = _without_legal_basis()
    expired = EVENTS.c.occurred_at < readings_cutoff
    ahead = [d for d in wanted_days(now.astimezone(UTC).date()) if d >= readings_cutoff.date()]
    ensure_partitions(engine, ahead)
    report = RetentionReport(
        readings_cutoff=readings_cutoff,
        daily_cutoff=daily_cutoff,
        partitions_dropped=len(drop_partitions_before(engine, readings_cutoff)),
        readings_deleted=_in_batches(
            engine,
            _delete_events(expired, batch_size, prune=expired),
            batch_size,
            "emotion_events",
        ),
        daily_deleted=_in_batches(
            engine,
            _delete_daily(DAILY.c.day < daily_cutoff, batch_size),
            batch_size,
            "emotion_daily",
        ),
        unconsented_readings_deleted=_in_batches(
            engine,
            _delete_events(EVENTS.c.user_id.in_(no_basis), batch_size),
            batch_size,
            "emotion_events",
        ),
        unconsented_daily_deleted=_in_batches(
            engine,
            _delete_daily(DAILY.c.user_id.in_(no_basis), batch_size),
            batch_size,
            "emotion_daily",
        ),
    )
    log.info(
        "retention applied",
        extra={
            "readings_cutoff": readings_cutoff.isoformat(),
            "daily_cutoff": daily_cutoff.isoformat(),
            "readings_deleted": report.readings_deleted,
            "daily_deleted": report.daily_deleted,
            "partitions_dropped": report.partitions_dropped,
            "unconsented_readings_deleted": report.unconsented_readings_deleted,
            "unconsented_daily_deleted": report.unconsented_daily_deleted,
        },
    )
    return report
