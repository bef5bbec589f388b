"""messages: when and by whom a citizen's message was answered; failed_messages: role

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("answered_by", sa.String(length=320), nullable=True))
    with op.batch_alter_table("failed_messages") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=10), nullable=False, server_default="inbox")
        )


def downgrade() -> None:
    with op.batch_alter_table("failed_messages") as batch:
        batch.drop_column("role")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("answered_by")
        batch.drop_column("answered_at")
