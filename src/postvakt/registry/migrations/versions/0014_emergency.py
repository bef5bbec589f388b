"""emergency delegation: an absence ordered for someone unreachable, in force only once the
unit head and the head's own nearest manager have both approved it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("absences") as batch:
        batch.add_column(
            sa.Column("emergency", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("approvals", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("absences") as batch:
        batch.drop_column("approved_at")
        batch.drop_column("approvals")
        batch.drop_column("emergency")
