"""Credit-line re-evaluation: the append-only ``credit_line_changes`` table.

Each re-evaluation of an active line appends its steps here (no change, decrease noticed and
applied, increase offered, accepted or expired, flagged for an analyst); the interval to the next
review is measured from the latest row. A new table only: nothing existing is rewritten.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_line_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "account_id",
            sa.Uuid(),
            sa.ForeignKey("credit_accounts.user_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("old_limit", sa.Numeric(14, 2), nullable=False),
        sa.Column("new_limit", sa.Numeric(14, 2), nullable=False),
        sa.Column("old_rate", sa.Numeric(7, 4), nullable=False),
        sa.Column("new_rate", sa.Numeric(7, 4), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workflow_id", sa.String(160), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("policy_version", sa.String(32), nullable=False),
        sa.UniqueConstraint("workflow_id", "kind", name="uq_credit_line_changes_step"),
    )
    op.create_index(
        "ix_credit_line_changes_account_time", "credit_line_changes", ["account_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_credit_line_changes_account_time", table_name="credit_line_changes")
    op.drop_table("credit_line_changes")
