"""PostgreSQL ``emotion_events``: one index and no foreign key (issue 15: 50k readings/s).

Measured on the consumer's fast path (``ecs.stream.rawstore.persist_raw``, batches of 4,000 on a
throwaway database, the machine otherwise idle): 19.5 µs per reading before, 13.9 after, three
runs each way. The two changes:

* The primary key becomes ``(user_id, occurred_at, event_id)`` and ``ix_emotion_events_user_time``
  goes: the key's prefix is that index, so every reading updated two btrees for what one
  serves. The key still holds the partition key (0004) and still makes a redelivered reading meet
  its first copy (0007: same user, same ``occurred_at``, same id). Retention drops whole day
  partitions; the one straddling day it trims by rows is a single day's scan. The documented
  per-user query keeps its index (``tests/stream/test_partitions.py`` checks the plan).
* The foreign key to ``users`` goes. Per row it ran a trigger querying ``users`` and locking the
  row: about a quarter of the insert. What it guarded is checked where readings are written:
  the fast path refuses a batch with an unknown user inside the same transaction (it then takes
  the portable path), the portable path dead-letters readings of unknown users
  (``ecs.stream.store.UnknownUser``), users are never deleted (erasure pseudonymises the account
  and deletes its readings explicitly, ``ecs.accounts.erasure``).

SQLite keeps its plain table, key and foreign key: the embedded default is not the 50k path.

Downgrade restores the 0007 key, the index and the foreign key (readings of users that no
longer exist are deleted first, or the constraint could not be added).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROP_FOREIGN_KEYS = """
DO $$
DECLARE name text;
BEGIN
    FOR name IN SELECT conname FROM pg_constraint
                WHERE conrelid = 'emotion_events'::regclass AND contype = 'f'
    LOOP
        EXECUTE format('ALTER TABLE emotion_events DROP CONSTRAINT %I', name);
    END LOOP;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_DROP_FOREIGN_KEYS)
    op.execute(
        "ALTER TABLE emotion_events DROP CONSTRAINT emotion_events_pkey, "
        "ADD CONSTRAINT emotion_events_pkey PRIMARY KEY (user_id, occurred_at, event_id)"
    )
    op.execute("DROP INDEX IF EXISTS ix_emotion_events_user_time")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "DELETE FROM emotion_events e "
        "WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = e.user_id)"
    )
    op.execute("CREATE INDEX ix_emotion_events_user_time ON emotion_events (user_id, occurred_at)")
    op.execute(
        "ALTER TABLE emotion_events DROP CONSTRAINT emotion_events_pkey, "
        "ADD CONSTRAINT emotion_events_pkey PRIMARY KEY (occurred_at, user_id, event_id)"
    )
    op.execute(
        "ALTER TABLE emotion_events ADD CONSTRAINT emotion_events_user_id_fkey "
        "FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE"
    )
