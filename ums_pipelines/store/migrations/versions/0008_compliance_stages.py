"""compliance stages: transaction exception, planned counts, budgets, external review, daily counts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 04:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_transaction_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("last_transaction_kind", sa.String(length=32), nullable=True))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("planned_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("product_kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("anomalies", sa.JSON(), nullable=True))
    op.create_table(
        "department_budgets",
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("budget_krw", sa.Numeric(precision=14, scale=0), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("department", "month", name=op.f("pk_department_budgets")),
    )
    op.create_table(
        "review_requests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("request_ref", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("external_ref", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", _TIME, nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.Column("reason_code", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
        sa.UniqueConstraint("request_ref", name=op.f("uq_review_requests_request_ref")),
    )
    op.create_index("ix_review_requests_entity", "review_requests", ["entity", "entity_id"])
    op.create_table(
        "recipient_days",
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "customer_id", "day", "channel", "purpose", name=op.f("pk_recipient_days")
        ),
    )


def downgrade() -> None:
    op.drop_table("recipient_days")
    op.drop_index("ix_review_requests_entity", table_name="review_requests")
    op.drop_table("review_requests")
    op.drop_table("department_budgets")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("anomalies")
        batch_op.drop_column("product_kind")
        batch_op.drop_column("planned_count")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("last_transaction_kind")
        batch_op.drop_column("last_transaction_at")
