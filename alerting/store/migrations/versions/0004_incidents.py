"""Incidents: one fire seen by several cameras; each alert points at its incident.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("uncertainty_m", sa.Float(), nullable=True),
        sa.Column("location_camera_ids", sa.JSON(), nullable=True),
        sa.Column("camera_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_incidents_last_seen"), "incidents", ["last_seen"], unique=False)
    op.create_index(op.f("ix_incidents_updated_at"), "incidents", ["updated_at"], unique=False)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_incident_id"), ["incident_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_incident_id_incidents"), "incidents", ["incident_id"], ["id"], ondelete="SET NULL"
        )
    # Every alert belongs to an incident: each alert stored before this revision gets its own
    # (same id, its own point); it joins others' incidents when it next gets a frame.
    postgres = op.get_bind().dialect.name == "postgresql"
    one_camera = "json_build_array(camera_id)" if postgres else "json_array(camera_id)"
    op.execute(
        "INSERT INTO incidents (id, first_seen, last_seen, latitude, longitude, uncertainty_m, location_camera_ids,"
        " camera_ids, created_at, updated_at) SELECT id, first_seen, last_seen, latitude, longitude, uncertainty_m,"
        f" location_camera_ids, {one_camera}, created_at, updated_at FROM alerts"
    )
    op.execute("UPDATE alerts SET incident_id = id")
    if postgres:  # explicit ids leave the sequence behind
        op.execute(
            "SELECT setval(pg_get_serial_sequence('incidents', 'id'), GREATEST(COALESCE(MAX(id), 0), 1),"
            " MAX(id) IS NOT NULL) FROM incidents"
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alerts_incident_id_incidents"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_alerts_incident_id"))
        batch_op.drop_column("incident_id")
    op.drop_index(op.f("ix_incidents_updated_at"), table_name="incidents")
    op.drop_index(op.f("ix_incidents_last_seen"), table_name="incidents")
    op.drop_table("incidents")
