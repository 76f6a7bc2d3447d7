"""Field operations (issue 12): fire-danger levels and their feed, each camera's district, the level
and escalation state of each alert, the group and tier of each notification.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fire_danger_levels",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("day", "scope", "target", name="uq_fire_danger_day_target"),
    )
    op.create_index("ix_fire_danger_levels_day", "fire_danger_levels", ["day"])
    op.create_table(
        "fire_danger_feed",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("last_fetch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("rows_applied", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rows_rejected", sa.Integer(), nullable=False, server_default="0"),
    )
    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.add_column(sa.Column("district", sa.String(length=100), nullable=False, server_default=""))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("danger_level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("escalation_tier", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("confirmed_routed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_alerts_escalate_at", ["escalate_at"])
    # Fires confirmed before groups existed are not announced to them now.
    op.execute("UPDATE alerts SET confirmed_routed_at = CURRENT_TIMESTAMP WHERE status IN ('confirmed', 'out')")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_name", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("tier", sa.Integer(), nullable=True))


def _drop_columns(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_column(column)


def downgrade() -> None:
    _drop_columns("notifications", "tier", "group_name")
    op.drop_index("ix_alerts_escalate_at", table_name="alerts")
    _drop_columns("alerts", "confirmed_routed_at", "escalate_at", "escalation_tier", "danger_level")
    _drop_columns("cameras", "district")
    op.drop_table("fire_danger_feed")
    op.drop_index("ix_fire_danger_levels_day", table_name="fire_danger_levels")
    op.drop_table("fire_danger_levels")
