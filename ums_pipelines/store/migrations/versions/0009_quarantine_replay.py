"""quarantine replay: a quarantined row's parsed fields and who replayed it when

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("quarantined_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cells", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("replayed_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("replayed_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantined_rows", schema=None) as batch_op:
        batch_op.drop_column("replayed_by")
        batch_op.drop_column("replayed_at")
        batch_op.drop_column("cells")
