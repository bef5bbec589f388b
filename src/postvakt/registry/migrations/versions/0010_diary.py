"""the diary's own numbers and the diary outbox: every document of a case

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("diary_number", sa.String(length=100), nullable=True))
        batch.create_index("ix_cases_diary_number", ["diary_number"])
    # Until now Postvakt's numbers were the diary numbers (numbering = "postvakt"); a number
    # the registrar typed on the Registrator page was the diary system's own.
    op.execute("UPDATE cases SET diary_number = COALESCE(diary_entered_number, number)")
    op.create_table(
        "diary_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("system", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.String(length=24),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_diary_documents_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_diary_documents"),
        sa.UniqueConstraint("key", name="uq_diary_documents_key"),
    )
    op.create_index("ix_diary_documents_case_id", "diary_documents", ["case_id"])
    op.create_index("ix_diary_documents_status", "diary_documents", ["status"])
    op.create_table(
        "diary_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["diary_documents.id"],
            name="fk_diary_attachments_document_id_diary_documents",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_diary_attachments"),
    )
    op.create_index("ix_diary_attachments_document_id", "diary_attachments", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_diary_attachments_document_id", table_name="diary_attachments")
    op.drop_table("diary_attachments")
    op.drop_index("ix_diary_documents_status", table_name="diary_documents")
    op.drop_index("ix_diary_documents_case_id", table_name="diary_documents")
    op.drop_table("diary_documents")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_diary_number")
        batch.drop_column("diary_number")
