"""Contested decisions and the review deadline (issue 13: contestation, escalation, four-eyes).

* ``credit_decisions.review_due_at``: when a decision waiting for an analyst (REFERRED,
  CONTESTED, CONFIRMING) is overdue; ``escalated_at``: when it passed that deadline and the
  analysts were told. The queue sorts on both.
* ``decision_records.contributions``: the model's per-feature log-odds, stored with the decision
  record so the workbench shows why the model scored as it did without re-scoring (a later
  model would explain a different score). Existing records get ``{}``.
* The partial unique index "one open decision per user" now counts CONTESTED and CONFIRMING as
  open: a contested decision can still become an offer, so it must keep a second one from
  opening. Any row in those statuses is new, so rebuilding the index cannot fail.

Downgrade drops the columns and restores the old index; decisions in CONTESTED or CONFIRMING
would then fall outside it (the old code cannot drive them anyway).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "uq_credit_decisions_one_open_per_user"
_OPEN_BEFORE = "status IN ('PENDING', 'COOLING_OFF', 'REFERRED', 'OFFERED', 'ACCEPTED')"
_OPEN_NOW = (
    "status IN ('PENDING', 'COOLING_OFF', 'REFERRED', 'CONTESTED', 'CONFIRMING', "
    "'OFFERED', 'ACCEPTED')"
)


def _open_index(where: str) -> None:
    op.drop_index(_INDEX, table_name="credit_decisions")
    op.create_index(
        _INDEX,
        "credit_decisions",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def upgrade() -> None:
    op.add_column(
        "credit_decisions", sa.Column("review_due_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "credit_decisions", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "decision_records",
        sa.Column("contributions", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    _open_index(_OPEN_NOW)


def downgrade() -> None:
    _open_index(_OPEN_BEFORE)
    with op.batch_alter_table("decision_records") as batch:
        batch.drop_column("contributions")
    with op.batch_alter_table("credit_decisions") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("review_due_at")
