"""Emotion event ids are unique per user, not per table (issue 10).

Why: the event id is the client's, chosen by the app on the user's phone. With the key on
``event_id`` alone (SQLite) or ``(occurred_at, event_id)`` (PostgreSQL, migration 0004), a user
who learns or guesses another user's event id and sends it first makes the other user's reading a
"duplicate": 202, then silently dropped. The key now includes ``user_id``: the same id from two
users is two readings, and a replay from one user still meets its first copy and is skipped.

PostgreSQL: the primary key becomes ``(occurred_at, user_id, event_id)``. It must include the
partition key, ``occurred_at``, as 0004's did; 0004's argument carries over unchanged. Every way a
reading arrives twice (a redelivered or claimed stream entry, a replayed dead letter, a client
retry) re-sends the same bytes, so the same ``occurred_at``, and meets its first copy in the same
partition. One user reusing an id for a *different* moment is a different reading and is stored;
refusing it would need a global per-user index of every id ever seen, unpartitioned, with its own
retention by DELETE (the cost partitioning removed). ``occurred_at`` stays first so inserts of
"now" append at the right edge of the index and retention's range scans use it.

SQLite: the plain table's primary key becomes ``(event_id, user_id)`` (the table is rebuilt, as
SQLite cannot alter a key in place). There the replay with another ``occurred_at`` is deduplicated:
the embedded default has no partition key to carry, and the stricter rule only drops a client's
reuse of its own id.

Downgrade: the wider key is narrowed back; rows that only the per-user key allowed (the same
event id from two users, or on PostgreSQL the same (occurred_at, event_id)) keep one row each, the
first user by id; the daily sums are left as they are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE emotion_events DROP CONSTRAINT emotion_events_pkey, "
            "ADD CONSTRAINT emotion_events_pkey PRIMARY KEY (occurred_at, user_id, event_id)"
        )
        return
    with op.batch_alter_table("emotion_events", recreate="always") as batch:
        batch.create_primary_key("emotion_events_pkey", ["event_id", "user_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DELETE FROM emotion_events e USING emotion_events o "
            "WHERE o.occurred_at = e.occurred_at AND o.event_id = e.event_id "
            "AND o.user_id < e.user_id"
        )
        op.execute(
            "ALTER TABLE emotion_events DROP CONSTRAINT emotion_events_pkey, "
            "ADD CONSTRAINT emotion_events_pkey PRIMARY KEY (occurred_at, event_id)"
        )
        return
    op.execute(
        "DELETE FROM emotion_events WHERE EXISTS (SELECT 1 FROM emotion_events o "
        "WHERE o.event_id = emotion_events.event_id AND o.user_id < emotion_events.user_id)"
    )
    with op.batch_alter_table("emotion_events", recreate="always") as batch:
        batch.create_primary_key("emotion_events_pkey", ["event_id"])
