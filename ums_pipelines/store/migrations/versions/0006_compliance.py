"""compliance: forbidden words, the sender registry's owners, proofs and validity

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 02:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sender_numbers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("proof_ref", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("valid_from", _TIME, nullable=True))
        batch_op.add_column(sa.Column("valid_until", _TIME, nullable=True))
        batch_op.add_column(sa.Column("updated_at", _TIME, nullable=True))
    op.create_table(
        "forbidden_words",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("word", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forbidden_words")),
    )
    op.create_index("ix_forbidden_words_active", "forbidden_words", ["active", "department"])
    op.create_table(
        "senders",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("proof_ref", sa.String(length=128), nullable=True),
        sa.Column("valid_from", _TIME, nullable=True),
        sa.Column("valid_until", _TIME, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("registered_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_senders")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_senders_kind")),
    )


def downgrade() -> None:
    op.drop_table("senders")
    op.drop_index("ix_forbidden_words_active", table_name="forbidden_words")
    op.drop_table("forbidden_words")
    with op.batch_alter_table("sender_numbers", schema=None) as batch_op:
        for name in ("updated_at", "valid_until", "valid_from", "proof_ref", "department"):
            batch_op.drop_column(name)
