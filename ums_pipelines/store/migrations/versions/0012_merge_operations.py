"""merge the operations branches: alerts, send calendar, monitoring and urgent notices

Four features were built side by side on 0010 (each its own tables); this revision joins
their heads so later migrations have one parent again.

Revision ID: 0012
Revises: 0011_alerts, 0011_calendar, 0011_monitoring, 0011_urgent
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

revision: str = "0012"
down_revision: str | Sequence[str] | None = (
    "0011_alerts",
    "0011_calendar",
    "0011_monitoring",
    "0011_urgent",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the branches' tables are disjoint."""


def downgrade() -> None:
    """Splitting the heads again changes nothing either."""
