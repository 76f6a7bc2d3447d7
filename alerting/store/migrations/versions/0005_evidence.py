"""Evidence: the camera's last frame before the smoke on each alert, and when retention deleted its files.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("before_path", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("before_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("evidence_deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("evidence_deleted_at")
        batch_op.drop_column("before_at")
        batch_op.drop_column("before_path")
