"""send calendar: conflicts between planned jobs (customers, purpose, provider capacity)

Revision ID: 0011_calendar
Revises: 0010
Create Date: 2026-11-26 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_calendar"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calendar_conflicts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("job_a", sa.String(length=64), nullable=False),
        sa.Column("job_b", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("shared", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("overlap_start", _TIME, nullable=False),
        sa.Column("overlap_end", _TIME, nullable=False),
        sa.Column("found_for", sa.String(length=64), nullable=False),
        sa.Column("suggested_start", _TIME, nullable=True),
        sa.Column("suggested_end", _TIME, nullable=True),
        sa.Column("detected_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("resolved_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_conflicts")),
        sa.UniqueConstraint("job_a", "job_b", "kind", name="uq_calendar_conflicts_pair"),
    )
    op.create_index("ix_calendar_conflicts_job_a", "calendar_conflicts", ["job_a"])
    op.create_index("ix_calendar_conflicts_job_b", "calendar_conflicts", ["job_b"])
    op.create_index(
        "ix_calendar_conflicts_open", "calendar_conflicts", ["resolved_at", "detected_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_calendar_conflicts_open", table_name="calendar_conflicts")
    op.drop_index("ix_calendar_conflicts_job_b", table_name="calendar_conflicts")
    op.drop_index("ix_calendar_conflicts_job_a", table_name="calendar_conflicts")
    op.drop_table("calendar_conflicts")
