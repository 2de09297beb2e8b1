"""Partition emotion_events by day on PostgreSQL (SQLite keeps the plain table).

Why: raw readings are the largest table by far (one row per reading per second per user) and
the only one with a retention period; as one table, retention meant batched DELETEs over billions
of rows, with the bloat and vacuum work that follows. Range partitions on ``occurred_at`` (one per
UTC day, ``emotion_events_pYYYYMMDD``) let retention DROP whole days, keep each day's indexes
small and hot, and let the "last 7 days of a user" queries prune to eight partitions.

The key, and why deduplication stays exact. PostgreSQL requires every unique constraint of a
partitioned table to include the partition key, so ``event_id`` alone can no longer be the
primary key. The primary key becomes ``(occurred_at, event_id)`` and the consumer's
``INSERT … ON CONFLICT (occurred_at, event_id) DO NOTHING`` deduplicates on it. Every way a
reading can arrive twice carries the same ``occurred_at`` with its ``event_id``: a redelivered or
claimed stream entry and a replayed dead letter are the same bytes, and a client retry re-sends
the same reading (``occurred_at`` is the client's, never stamped by the server). So every
duplicate still meets its first copy in the same partition and the same unique index, and
concurrent duplicates still block on that index until the first commits. What changes is only an
event id *reused by a client for a different moment*: it used to be silently dropped as a
"duplicate" (losing a reading); now it is stored as the distinct reading it is. A global unique
index on ``event_id`` would need a second, unpartitioned table of every id ever seen, with its own
retention by DELETE: the cost partitioning removes. ``occurred_at`` leads the key so that
inserts (readings of about "now") append to the right edge of the index instead of landing at
random pages, and so the key also serves retention's range scans; the separate
``ix_emotion_events_occurred_at`` index is therefore not created on PostgreSQL.

Partitions present after the upgrade: every day with data in the last year, plus the days a
reading may be accepted for (7 days back, 3 ahead); the consumer and the retention job create
later days ahead of time (``ecs.stream.partitions``). Older rows go to the DEFAULT partition,
which also catches any reading whose day has no partition yet, and which retention empties by
rows. The downgrade rebuilds the plain table, keeping one row per ``event_id``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "event_id, user_id, occurred_at, received_at, kind, positivity, intensity, stress, context"
)


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("positivity", sa.Float(), nullable=False),
        sa.Column("intensity", sa.Float(), nullable=False),
        sa.Column("stress", sa.Float(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    ]


def _rename_old() -> None:
    op.rename_table("emotion_events", "emotion_events_old")
    op.execute(
        "ALTER TABLE emotion_events_old RENAME CONSTRAINT emotion_events_pkey TO emotion_events_old_pkey"
    )
    op.execute("ALTER INDEX ix_emotion_events_user_time RENAME TO ix_emotion_events_old_user_time")
    op.execute(
        "ALTER INDEX IF EXISTS ix_emotion_events_occurred_at RENAME TO ix_emotion_events_old_occurred_at"
    )


def _partition(day: date) -> None:
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    op.execute(
        f"CREATE TABLE emotion_events_p{day:%Y%m%d} PARTITION OF emotion_events "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rename_old()
    op.create_table(
        "emotion_events",
        *_columns(),
        sa.PrimaryKeyConstraint("occurred_at", "event_id", name="emotion_events_pkey"),
        postgresql_partition_by="RANGE (occurred_at)",
    )
    op.create_index("ix_emotion_events_user_time", "emotion_events", ["user_id", "occurred_at"])
    op.execute("CREATE TABLE emotion_events_default PARTITION OF emotion_events DEFAULT")
    today = datetime.now(UTC).date()
    with_data = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date FROM emotion_events_old "
                "WHERE occurred_at >= :since"
            ),
            {"since": datetime.combine(today - timedelta(days=366), time(), tzinfo=UTC)},
        )
        .scalars()
    )
    days = set(with_data) | {today + timedelta(days=i) for i in range(-7, 4)}
    for day in sorted(days):
        _partition(day)
    op.execute(f"INSERT INTO emotion_events ({COLUMNS}) SELECT {COLUMNS} FROM emotion_events_old")
    op.drop_table("emotion_events_old")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.rename_table("emotion_events", "emotion_events_old")
    op.execute(
        "ALTER TABLE emotion_events_old RENAME CONSTRAINT emotion_events_pkey TO emotion_events_old_pkey"
    )
    op.execute("ALTER INDEX ix_emotion_events_user_time RENAME TO ix_emotion_events_old_user_time")
    op.create_table(
        "emotion_events",
        *_columns(),
        sa.PrimaryKeyConstraint("event_id", name="emotion_events_pkey"),
    )
    op.execute(
        f"INSERT INTO emotion_events ({COLUMNS}) SELECT DISTINCT ON (event_id) {COLUMNS} "
        "FROM emotion_events_old ORDER BY event_id, occurred_at"
    )
    op.drop_table("emotion_events_old")  # the partitions go with it
    op.create_index("ix_emotion_events_user_time", "emotion_events", ["user_id", "occurred_at"])
    op.create_index("ix_emotion_events_occurred_at", "emotion_events", ["occurred_at"])
