"""legal holds: a customer's or a job's data is not purged while a hold is in place

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 05:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=True),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("placed_at", _TIME, nullable=False),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("released_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index("ix_legal_holds_customer_id", "legal_holds", ["customer_id"])
    op.create_index("ix_legal_holds_job_id", "legal_holds", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_legal_holds_job_id", table_name="legal_holds")
    op.drop_index("ix_legal_holds_customer_id", table_name="legal_holds")
    op.drop_table("legal_holds")
