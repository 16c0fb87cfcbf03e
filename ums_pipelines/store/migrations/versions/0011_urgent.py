"""urgent notices, and lane reservations of provider rate limits for the urgent lane

Revision ID: 0011_urgent
Revises: 0010
Create Date: 2026-11-26 09:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_urgent"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "urgent_notices",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("template_code", sa.String(length=64), nullable=False),
        sa.Column("routes", sa.JSON(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("segment_sql", sa.Text(), nullable=True),
        sa.Column("segment_params", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("drafted_by", sa.String(length=64), nullable=False),
        sa.Column("drafted_at", _TIME, nullable=False),
        sa.Column("dry_run", sa.JSON(), nullable=True),
        sa.Column("dry_run_at", _TIME, nullable=True),
        sa.Column("predicted_s", sa.Float(), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", _TIME, nullable=True),
        sa.Column("enqueued", sa.Integer(), nullable=True),
        sa.Column("enqueued_at", _TIME, nullable=True),
        sa.Column("first_sent_at", _TIME, nullable=True),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_urgent_notices")),
        sa.UniqueConstraint("job_id", name=op.f("uq_urgent_notices_job_id")),
    )
    op.create_index("ix_urgent_notices_status", "urgent_notices", ["status"])
    op.create_table(
        "lane_reservations",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("lane", sa.Integer(), nullable=False),
        sa.Column("until_ns", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_lane_reservations")),
    )


def downgrade() -> None:
    op.drop_table("lane_reservations")
    op.drop_index("ix_urgent_notices_status", table_name="urgent_notices")
    op.drop_table("urgent_notices")
