"""alerts: alert lifecycle per key, its notifications (on-call and webhook), on-call list

Revision ID: 0011_alerts
Revises: 0010
Create Date: 2026-11-26 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_alerts"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("notified", sa.Integer(), nullable=False),
        sa.Column("first_raised_at", _TIME, nullable=False),
        sa.Column("last_seen_at", _TIME, nullable=False),
        sa.Column("last_notified_at", _TIME, nullable=True),
        sa.Column("cleared_at", _TIME, nullable=True),
        sa.Column("acked_by", sa.String(length=64), nullable=True),
        sa.Column("acked_at", _TIME, nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_alerts_key")),
    )
    op.create_index("ix_alerts_rule", "alerts", ["rule"])
    op.create_index("ix_alerts_state", "alerts", ["state"])
    op.create_table(
        "alert_notifications",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("oncall_state", sa.String(length=16), nullable=False),
        sa.Column("oncall_requests", sa.Integer(), nullable=False),
        sa.Column("webhook_state", sa.String(length=16), nullable=False),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False),
        sa.Column("webhook_status", sa.Integer(), nullable=True),
        sa.Column("webhook_error", sa.Text(), nullable=True),
        sa.Column("webhook_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_notifications_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_notifications")),
        sa.UniqueConstraint("alert_id", "seq", name=op.f("uq_alert_notifications_alert_id")),
    )
    op.create_index("ix_alert_notifications_alert_id", "alert_notifications", ["alert_id"])
    op.create_index("ix_alert_notifications_oncall_state", "alert_notifications", ["oncall_state"])
    op.create_index(
        "ix_alert_notifications_webhook_state", "alert_notifications", ["webhook_state"]
    )
    op.create_table(
        "oncall_contacts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", _TIME, nullable=False),
        sa.Column("removed_by", sa.String(length=64), nullable=True),
        sa.Column("removed_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_contacts")),
    )


def downgrade() -> None:
    op.drop_table("oncall_contacts")
    op.drop_index("ix_alert_notifications_webhook_state", table_name="alert_notifications")
    op.drop_index("ix_alert_notifications_oncall_state", table_name="alert_notifications")
    op.drop_index("ix_alert_notifications_alert_id", table_name="alert_notifications")
    op.drop_table("alert_notifications")
    op.drop_index("ix_alerts_state", table_name="alerts")
    op.drop_index("ix_alerts_rule", table_name="alerts")
    op.drop_table("alerts")
