"""each mailbox's start: mail that arrived before it is recorded, not acted on

- ``mailbox_starts``: when each mailbox was first watched (the default of its
  ``start_from``).  A mailbox Postvakt has already read starts at the earliest arrival or
  reading it recorded there, so nothing it has seen (nor a failed message retried later)
  falls before the start; a mailbox never read gets its start on its first pass.
- The disposition ``before_start`` needs no change: dispositions are stored as plain strings.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailbox_starts",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("first_watched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["mailboxes.id"], name=op.f("fk_mailbox_starts_mailbox_id_mailboxes")
        ),
        sa.PrimaryKeyConstraint("mailbox_id", name=op.f("pk_mailbox_starts")),
    )
    op.execute(
        """
        INSERT INTO mailbox_starts (mailbox_id, first_watched_at)
        SELECT mailbox_id, MIN(moment) FROM (
            SELECT mailbox_id, received_at AS moment FROM messages WHERE received_at IS NOT NULL
            UNION ALL SELECT mailbox_id, processed_at FROM messages
            UNION ALL SELECT mailbox_id, received_at FROM failed_messages
                WHERE received_at IS NOT NULL
            UNION ALL SELECT mailbox_id, failed_at FROM failed_messages
        ) AS seen
        GROUP BY mailbox_id
        """
    )


def downgrade() -> None:
    op.drop_table("mailbox_starts")
