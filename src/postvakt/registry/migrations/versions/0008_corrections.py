"""people steer the machine: withdrawn and merged cases, corrections kept as examples, the
review queue's marks on messages, and the classifier's retrainings

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("corrected_by", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("withdrawn_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_cases_merged_into_id_cases"), "cases", ["merged_into_id"], ["id"]
        )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("case_probability", sa.Float(), nullable=True))
        batch.add_column(sa.Column("excerpt", sa.Text(), nullable=True))
        batch.add_column(sa.Column("flagged_by", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("message_record_id", sa.Integer(), nullable=True),
        sa.Column("predicted", sa.String(length=20), nullable=True),
        sa.Column("label", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_corrections_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["message_record_id"],
            ["messages.id"],
            name=op.f("fk_corrections_message_record_id_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    for column in ("at", "case_id", "message_record_id", "content_hash"):
        op.create_index(op.f(f"ix_corrections_{column}"), "corrections", [column], unique=False)
    op.create_table(
        "classifier_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_key", sa.String(length=100), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("corrections", sa.Integer(), nullable=False),
        sa.Column("macro_f1", sa.Float(), nullable=False),
        sa.Column("complaint_recall", sa.Float(), nullable=False),
        sa.Column("current_macro_f1", sa.Float(), nullable=True),
        sa.Column("current_complaint_recall", sa.Float(), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_models")),
    )


def downgrade() -> None:
    op.drop_table("classifier_models")
    for column in ("content_hash", "message_record_id", "case_id", "at"):
        op.drop_index(op.f(f"ix_corrections_{column}"), table_name="corrections")
    op.drop_table("corrections")
    with op.batch_alter_table("messages") as batch:
        for column in ("reviewed_at", "reviewed_by", "flagged_at", "flagged_by", "excerpt"):
            batch.drop_column(column)
        batch.drop_column("case_probability")
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("fk_cases_merged_into_id_cases", type_="foreignkey")
        for column in (
            "merged_into_id",
            "withdrawn_reason",
            "withdrawn_at",
            "corrected_at",
            "corrected_by",
        ):
            batch.drop_column(column)
