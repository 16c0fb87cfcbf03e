"""monitoring: the screen board's per-user tokens, and the index of per-stage counts

Revision ID: 0011_monitoring
Revises: 0010
Create Date: 2026-11-26 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_monitoring"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "board_tokens",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", _TIME, nullable=False),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_board_tokens_token_sha256")),
    )
    op.create_index("ix_board_tokens_user_id", "board_tokens", ["user_id"])
    op.create_index(
        "ix_messages_monitor",
        "messages",
        ["state", "updated_at", "channel", "provider", "priority"],
    )


def downgrade() -> None:
    op.drop_index("ix_messages_monitor", table_name="messages")
    op.drop_index("ix_board_tokens_user_id", table_name="board_tokens")
    op.drop_table("board_tokens")
