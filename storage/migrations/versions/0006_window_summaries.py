"""summaries: per-model executor and source, summary specs, stored window summaries

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _model_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["model_id"], ["model.id"], name=op.f(f"fk_{table}_model_id_model"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "model_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("executor", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        _model_fk("model_source"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_source")),
        sa.UniqueConstraint("model_id", name=op.f("uq_model_source_model_id")),
    )
    op.create_table(
        "summary_spec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("reference_version", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        _model_fk("summary_spec"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_spec")),
        sa.UniqueConstraint("model_id", "sha256", name=op.f("uq_summary_spec_model_id_sha256")),
    )
    op.create_table(
        "window_summary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("window_start", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reference_version", sa.Integer(), nullable=False),
        sa.Column("spec_sha256", sa.String(length=64), nullable=False),
        sa.Column("format_version", sa.Integer(), nullable=False),
        sa.Column("executor", sa.String(length=16), nullable=False),
        sa.Column("n_rows", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        _model_fk("window_summary"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_window_summary")),
        sa.UniqueConstraint(
            "model_id",
            "window_start",
            "window_end",
            name=op.f("uq_window_summary_model_id_window_start_window_end"),
        ),
    )


def downgrade() -> None:
    op.drop_table("window_summary")
    op.drop_table("summary_spec")
    op.drop_table("model_source")
