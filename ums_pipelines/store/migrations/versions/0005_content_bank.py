"""content bank: item attributes, approved versions, job fields, short links, clicks, phrases

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_type", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("department", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("service_code", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("valid_from", _TIME, nullable=True))
        batch_op.add_column(sa.Column("valid_until", _TIME, nullable=True))
        batch_op.add_column(sa.Column("approval_ids", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("retired_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("updated_at", _TIME, nullable=True))
    with op.batch_alter_table("template_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("approved_at", _TIME, nullable=True))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("shorten_urls", sa.Boolean(), nullable=True))
    op.create_table(
        "short_links",
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("message_key", sa.String(length=96), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_short_links")),
        sa.UniqueConstraint("message_key", "position", name=op.f("uq_short_links_message_key")),
    )
    op.create_index(op.f("ix_short_links_job_id"), "short_links", ["job_id"])
    op.create_index(op.f("ix_short_links_customer_id"), "short_links", ["customer_id"])
    op.create_table(
        "link_clicks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("clicked_at", _TIME, nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_clicks")),
    )
    op.create_index(op.f("ix_link_clicks_code"), "link_clicks", ["code"])
    op.create_index(op.f("ix_link_clicks_clicked_at"), "link_clicks", ["clicked_at"])
    op.create_table(
        "phrases",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("occasion", sa.String(length=32), nullable=False),
        sa.Column("season", sa.String(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phrases")),
    )
    op.create_index("ix_phrases_occasion", "phrases", ["occasion", "active"])


def downgrade() -> None:
    op.drop_index("ix_phrases_occasion", table_name="phrases")
    op.drop_table("phrases")
    op.drop_index(op.f("ix_link_clicks_clicked_at"), table_name="link_clicks")
    op.drop_index(op.f("ix_link_clicks_code"), table_name="link_clicks")
    op.drop_table("link_clicks")
    op.drop_index(op.f("ix_short_links_customer_id"), table_name="short_links")
    op.drop_index(op.f("ix_short_links_job_id"), table_name="short_links")
    op.drop_table("short_links")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("shorten_urls")
        batch_op.drop_column("params")
    with op.batch_alter_table("template_versions", schema=None) as batch_op:
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by")
    with op.batch_alter_table("templates", schema=None) as batch_op:
        for name in (
            "updated_at",
            "retired_at",
            "approval_ids",
            "valid_until",
            "valid_from",
            "tags",
            "service_code",
            "department",
            "content_type",
        ):
            batch_op.drop_column(name)
