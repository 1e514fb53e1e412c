"""compare: comparisons of a candidate model with a baseline, and their analysed windows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comparison",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("baseline_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("split", sa.Double(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["baseline_id"],
            ["model.id"],
            name=op.f("fk_comparison_baseline_id_model"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["model.id"],
            name=op.f("fk_comparison_candidate_id_model"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparison")),
        sa.UniqueConstraint("candidate_id", name=op.f("uq_comparison_candidate_id")),
        sa.UniqueConstraint("name", name=op.f("uq_comparison_name")),
    )
    op.create_table(
        "comparison_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("window_start", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("n_baseline", sa.Integer(), nullable=False),
        sa.Column("n_candidate", sa.Integer(), nullable=False),
        sa.Column("n_labels_baseline", sa.Integer(), nullable=False),
        sa.Column("n_labels_candidate", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=24), nullable=True),
        sa.Column("analyzed_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["comparison.id"],
            name=op.f("fk_comparison_window_comparison_id_comparison"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparison_window")),
        sa.UniqueConstraint(
            "comparison_id",
            "window_start",
            "window_end",
            name=op.f("uq_comparison_window_comparison_id_window_start_window_end"),
        ),
    )
    with op.batch_alter_table("comparison_window", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_comparison_window_comparison_id"), ["comparison_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("comparison_window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comparison_window_comparison_id"))
    op.drop_table("comparison_window")
    op.drop_table("comparison")
