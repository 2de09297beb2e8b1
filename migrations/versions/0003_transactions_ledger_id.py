"""Transactions carry the ledger's own id, unique, so a replayed ledger feed batch is a no-op,
and the currency the ledger booked them in.

Existing rows (posted by customers before the ledger feed) keep a NULL id: both PostgreSQL and
SQLite let a unique index hold any number of NULLs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ledger_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch_op.create_index("uq_transactions_ledger_id", ["ledger_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("uq_transactions_ledger_id")
        batch_op.drop_column("currency")
        batch_op.drop_column("ledger_id")
