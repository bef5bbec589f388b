"""callback requests (återuppringningar): who is to call whom back, by when, and what came of it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("for_address", sa.String(length=320), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("phone", sa.String(length=100), nullable=False),
        sa.Column("about", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=320), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_callbacks_case_id_cases"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_callbacks_unit_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_callbacks"),
    )
    op.create_index("ix_callbacks_for_address", "callbacks", ["for_address"])
    op.create_index("ix_callbacks_case_id", "callbacks", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_callbacks_case_id", table_name="callbacks")
    op.drop_index("ix_callbacks_for_address", table_name="callbacks")
    op.drop_table("callbacks")
