"""care complaints: when a case was marked as concerning an individual's care, what the
deviation function is still to be told, and when its case card went there

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("care_flagged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("care_route", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("care_routed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("care_routed_at")
        batch.drop_column("care_route")
        batch.drop_column("care_flagged_at")
