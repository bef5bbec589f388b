"""letters people read and the yearly compilation: the language a case's letters are written
in, and the record of each compilation sent

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        # NULL: Swedish (every case registered before letters had a language).
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    op.create_table(
        "compilations_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("sent_to", sa.String(length=320), nullable=False),
        sa.Column("sent_by", sa.String(length=320), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_compilations_sent"),
    )
    op.create_index("ix_compilations_sent_year", "compilations_sent", ["year"])


def downgrade() -> None:
    op.drop_index("ix_compilations_sent_year", table_name="compilations_sent")
    op.drop_table("compilations_sent")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("language")
