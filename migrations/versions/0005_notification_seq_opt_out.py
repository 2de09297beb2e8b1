"""Notifications get a per-user sequence number (the event stream's resume point); users get the
opt-out from proactive offers.

``seq`` is backfilled for existing rows in the order the inbox already showed them (created_at,
then id), with a correlated COUNT that PostgreSQL and SQLite both run; only then is it made
NOT NULL and unique per user. The opt-out defaults to false: nobody is opted out by a migration.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE notifications SET seq = (
    SELECT COUNT(*) FROM notifications AS earlier
    WHERE earlier.user_id = notifications.user_id
      AND (earlier.created_at < notifications.created_at
           OR (earlier.created_at = notifications.created_at AND earlier.id <= notifications.id))
)
"""


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_notifications_user_seq", ["user_id", "seq"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "proactive_offers_opt_out", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("proactive_offers_opt_out")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notifications_user_seq", type_="unique")
        batch_op.drop_column("seq")
