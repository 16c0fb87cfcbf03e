"""send plane: splits, agents, requests, leg deadlines

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:39:33.468328
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("lanes", sa.JSON(), nullable=False),
        sa.Column("providers", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_seconds", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agents")),
    )
    op.create_table(
        "job_chunks",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("chunk_no", sa.Integer(), nullable=False),
        sa.Column("first_index", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.job_id"], name=op.f("fk_job_chunks_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint("job_id", "chunk_no", name=op.f("pk_job_chunks")),
    )
    op.create_table(
        "send_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("caller_key", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("lane", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.job_id"], name=op.f("fk_send_requests_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_requests")),
        sa.UniqueConstraint("caller", "caller_key", name=op.f("uq_send_requests_caller")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("chunk_size", sa.Integer(), nullable=False, server_default="1000")
        )
        batch_op.add_column(sa.Column("pace_per_s", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("content_valid_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("leg_timeout_s", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stop_reason", sa.Text(), nullable=True))

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leg_deadline_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("send_round", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index("ix_messages_deadline", ["state", "leg_deadline_at"], unique=False)
        batch_op.create_index("ix_messages_job_customer", ["job_id", "customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_job_customer")
        batch_op.drop_index("ix_messages_deadline")
        batch_op.drop_column("send_round")
        batch_op.drop_column("leg_deadline_at")

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("stop_reason")
        batch_op.drop_column("leg_timeout_s")
        batch_op.drop_column("content_valid_until")
        batch_op.drop_column("pace_per_s")
        batch_op.drop_column("chunk_size")

    op.drop_table("send_requests")
    op.drop_table("job_chunks")
    op.drop_table("agents")
