"""case lifecycle: answer, actions, care mark, service area, hand-over, registrar notice

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("answer_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("actions", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("individual_care", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("service_area", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("forwarded_to", sa.String(length=300), nullable=True))
        batch.add_column(
            sa.Column(
                "registrar_status", sa.String(length=10), nullable=False, server_default="none"
            )
        )
        batch.add_column(sa.Column("registrar_sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for column in (
            "registrar_sent_at",
            "registrar_status",
            "forwarded_to",
            "service_area",
            "individual_care",
            "actions",
            "answer_text",
        ):
            batch.drop_column(column)
