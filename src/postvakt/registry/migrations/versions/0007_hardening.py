"""hardening: messages known by where they are, sessions server-side, access log, leases

- ``messages.content_hash`` and ``cases.content_hash``: with the Message-ID they recognise the
  same message seen again; ``cases`` is unique on the two together instead of on the
  Message-ID alone (two different messages may share a Message-ID).  Existing cases get their hash from the stored original.
- ``cases.address_check`` and ``cases.review_reasons``: what a person must look at.
- ``web_sessions``, ``login_attempts``, ``case_access``: the web door and the access log.
- ``mailbox_leases``: one process per mailbox at a time.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from postvakt.mailbox.identity import content_hash

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_messages_content_hash"), ["content_hash"], unique=False)
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("uq_cases_message_id", type_="unique")
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("address_check", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("review_reasons", sa.JSON(), nullable=False, server_default="[]")
        )
    _hash_existing_cases()
    with op.batch_alter_table("cases") as batch:
        batch.create_unique_constraint(
            "uq_cases_message_id_content_hash", ["message_id", "content_hash"]
        )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_index(op.f("ix_web_sessions_address"), "web_sessions", ["address"], unique=False)
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("account", sa.String(length=320), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    for column in ("at", "client", "account"):
        op.create_index(
            op.f(f"ix_login_attempts_{column}"), "login_attempts", [column], unique=False
        )
    op.create_table(
        "case_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("what", sa.String(length=60), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_access_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_access")),
    )
    op.create_index(op.f("ix_case_access_case_id"), "case_access", ["case_id"], unique=False)
    op.create_table(
        "mailbox_leases",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["mailboxes.id"], name=op.f("fk_mailbox_leases_mailbox_id_mailboxes")
        ),
        sa.PrimaryKeyConstraint("mailbox_id", name=op.f("pk_mailbox_leases")),
    )


def _hash_existing_cases() -> None:
    """Cases registered before this revision get the content hash of their stored original."""
    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer()),
        sa.column("original", sa.LargeBinary()),
        sa.column("content_hash", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(cases.c.id, cases.c.original).where(cases.c.original.is_not(None))
    ).all()
    for case_id, original in rows:
        connection.execute(
            sa.update(cases)
            .where(cases.c.id == case_id)
            .values(content_hash=content_hash(bytes(original)))
        )


def downgrade() -> None:
    op.drop_table("mailbox_leases")
    op.drop_index(op.f("ix_case_access_case_id"), table_name="case_access")
    op.drop_table("case_access")
    for column in ("account", "client", "at"):
        op.drop_index(op.f(f"ix_login_attempts_{column}"), table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index(op.f("ix_web_sessions_address"), table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("review_reasons")
        batch.drop_column("address_check")
        batch.drop_constraint("uq_cases_message_id_content_hash", type_="unique")
        batch.drop_column("content_hash")
        batch.create_unique_constraint("uq_cases_message_id", ["message_id"])
    with op.batch_alter_table("messages") as batch:
        batch.drop_index(batch.f("ix_messages_content_hash"))
        batch.drop_column("content_hash")
