"""the dashboard: local accounts; the registrar's entry in the diary system

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_users")),
        sa.UniqueConstraint("address", name=op.f("uq_web_users_address")),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("diary_entered_number", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("diary_entered_by", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("diary_entered_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("diary_entered_at")
        batch.drop_column("diary_entered_by")
        batch.drop_column("diary_entered_number")
    op.drop_table("web_users")
