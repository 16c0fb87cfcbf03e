"""provider limits: shared rate-limit buckets and circuit breakers per provider

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:36:47.976666
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_buckets",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("per_second", sa.Float(), nullable=False),
        sa.Column("per_hour", sa.Integer(), nullable=True),
        sa.Column("tat_ns", sa.BigInteger(), nullable=False),
        sa.Column("hour_window", sa.BigInteger(), nullable=False),
        sa.Column("hour_count", sa.Integer(), nullable=False),
        sa.Column("penalty_until_ns", sa.BigInteger(), nullable=False),
        sa.Column("rate_factor", sa.Float(), nullable=False),
        sa.Column("factor_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_buckets")),
    )
    op.create_table(
        "provider_circuits",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("open_until_ns", sa.BigInteger(), nullable=False),
        sa.Column("probes", sa.Integer(), nullable=False),
        sa.Column("probe_round_ns", sa.BigInteger(), nullable=False),
        sa.Column("times_opened", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_circuits")),
    )


def downgrade() -> None:
    op.drop_table("provider_circuits")
    op.drop_table("provider_buckets")
