"""Index emotion_events by age, so the retention job's batched deletes do not scan the table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("emotion_events", schema=None) as batch_op:
        batch_op.create_index("ix_emotion_events_occurred_at", ["occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("emotion_events", schema=None) as batch_op:
        batch_op.drop_index("ix_emotion_events_occurred_at")
