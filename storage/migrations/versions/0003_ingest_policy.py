"""ingest: per-model ingest policy, distinct quarantine rows, coerced-to-missing counts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ingest_policy", sa.JSON(), nullable=True))
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("already_quarantined", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("coerced_to_missing", sa.Text(), nullable=True))
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_quarantine_model_id_row_key"), ["model_id", "row_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_quarantine_model_id_row_key"), type_="unique")
        batch_op.drop_column("row_key")
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.drop_column("coerced_to_missing")
        batch_op.drop_column("already_quarantined")
    with op.batch_alter_table("model", schema=None) as batch_op:
        batch_op.drop_column("ingest_policy")
