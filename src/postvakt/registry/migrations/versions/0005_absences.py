"""absences; cases handed to whoever covers, private cases; the classifier's flags on cases

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("substitutes", sa.JSON(), nullable=False),
        sa.Column("self_handling", sa.Boolean(), nullable=False),
        sa.Column("reply_subject", sa.String(length=300), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=320), nullable=True),
        sa.Column("applied", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
    )
    op.create_index(op.f("ix_absences_person"), "absences", ["person"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("regular_handler", sa.String(length=320), nullable=True))
        batch.add_column(
            sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("classifier_flags", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("classifier_flags")
        batch.drop_column("private")
        batch.drop_column("regular_handler")
    op.drop_table("absences")
