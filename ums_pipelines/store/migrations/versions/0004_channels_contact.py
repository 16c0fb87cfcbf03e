"""channels and contact: message payloads, prices, countries, MO replies, opt-outs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 20:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mo_messages",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("provider_mo_id", sa.String(length=128), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.Column("message_id", _ID, nullable=True),
        sa.Column("customer_id", sa.String(length=32), nullable=True),
        sa.Column("keyword", sa.String(length=32), nullable=True),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("handled_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mo_messages")),
        sa.UniqueConstraint("provider", "provider_mo_id", name=op.f("uq_mo_messages_provider")),
    )
    op.create_index(op.f("ix_mo_messages_message_id"), "mo_messages", ["message_id"])
    op.create_index(op.f("ix_mo_messages_customer_id"), "mo_messages", ["customer_id"])
    op.create_table(
        "opt_outs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("opted_out_at", _TIME, nullable=False),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.Column("confirmed_at", _TIME, nullable=True),
        sa.Column("withdrawn_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_outs")),
    )
    op.create_index("ix_opt_outs_customer", "opt_outs", ["customer_id", "withdrawn_at"])
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("unit_price", sa.Numeric(12, 4), nullable=True))
    with op.batch_alter_table("template_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_platform", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("push_platform")
    with op.batch_alter_table("template_versions", schema=None) as batch_op:
        batch_op.drop_column("payload")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("unit_price")
        batch_op.drop_column("country")
        batch_op.drop_column("payload")
    op.drop_index("ix_opt_outs_customer", table_name="opt_outs")
    op.drop_table("opt_outs")
    op.drop_index(op.f("ix_mo_messages_customer_id"), table_name="mo_messages")
    op.drop_index(op.f("ix_mo_messages_message_id"), table_name="mo_messages")
    op.drop_table("mo_messages")
