"""each mailbox's passes in a table of their own: the last pass, the last good one, the last
error and the failures in a row (before, the last good pass was a sync state under the
pseudo-folder ``*pass*``; those rows move here)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

MARKER_FOLDER = "*pass*"
"""The stopgap's pseudo-folder (registry/passes.py before this revision)."""

sync_states = sa.table(
    "sync_states",
    sa.column("id", sa.Integer()),
    sa.column("mailbox_id", sa.Integer()),
    sa.column("folder", sa.String()),
    sa.column("state", sa.JSON()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    passes = op.create_table(
        "mailbox_passes",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("last_pass_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures_in_row", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.Column("last_messages", sa.Integer(), nullable=True),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["mailboxes.id"], name="fk_mailbox_passes_mailbox_id_mailboxes"
        ),
        sa.PrimaryKeyConstraint("mailbox_id", name="pk_mailbox_passes"),
    )
    assert passes is not None
    bind = op.get_bind()
    marked = bind.execute(
        sa.select(sync_states.c.mailbox_id, sync_states.c.state, sync_states.c.updated_at).where(
            sync_states.c.folder == MARKER_FOLDER
        )
    ).all()
    if marked:
        op.bulk_insert(
            passes,
            [
                {
                    "mailbox_id": mailbox_id,
                    "last_pass_at": at,
                    "last_success_at": at,
                    "failures_in_row": 0,
                    "holder": (state or {}).get("holder") if isinstance(state, dict) else None,
                }
                for mailbox_id, state, at in marked
            ],
        )
    bind.execute(sa.delete(sync_states).where(sync_states.c.folder == MARKER_FOLDER))


def downgrade() -> None:
    passes = sa.table(
        "mailbox_passes",
        sa.column("mailbox_id", sa.Integer()),
        sa.column("last_success_at", sa.DateTime(timezone=True)),
        sa.column("holder", sa.String()),
    )
    bind = op.get_bind()
    good = bind.execute(
        sa.select(passes.c.mailbox_id, passes.c.last_success_at, passes.c.holder).where(
            passes.c.last_success_at.is_not(None)
        )
    ).all()
    if good:
        bind.execute(
            sync_states.insert(),
            [
                {
                    "mailbox_id": mailbox_id,
                    "folder": MARKER_FOLDER,
                    "state": {"holder": holder or ""},
                    "updated_at": at,
                }
                for mailbox_id, at, holder in good
            ],
        )
    op.drop_table("mailbox_passes")
