"""What a claim did and when: rule runs finished, notices and care cards claimed, private
messages

- ``job_claims.finished_at``: a job's claim was made before its work, and nothing said
  whether the work got done; a run cut short was not made again that day.  Claims from
  before the upgrade are taken as finished.
- ``notifications.claimed_at``: a notice left 'sending' by a process that stopped is sent
  again once its claim is old; ``notifications.private``: a queued notice about private mail
  is never re-routed to whoever covers an absent recipient.
- ``cases.care_claimed_at``: a care card left 'sending' (or a retraction left 'retracting')
  by a process that stopped is taken up again; ``cases.care_cleared_at``: when the care mark
  was last removed (the retraction says so, not when the mail went).
- ``messages.private``: a message marked private is never shown to a delegate, also when it
  did not become a case; from the case's mark for messages that did.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_DT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("job_claims") as batch:
        batch.add_column(sa.Column("finished_at", _DT, nullable=True))
    op.execute("UPDATE job_claims SET finished_at = claimed_at")
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("claimed_at", _DT, nullable=True))
        batch.add_column(
            sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("care_claimed_at", _DT, nullable=True))
        batch.add_column(sa.Column("care_cleared_at", _DT, nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE messages SET private = TRUE WHERE case_id IN "
        "(SELECT id FROM cases WHERE private = TRUE)"
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later have it): a batch would copy and drop the
    # whole table, which SQLite refuses for cases and messages while rows refer to them.
    op.drop_column("messages", "private")
    op.drop_column("cases", "care_cleared_at")
    op.drop_column("cases", "care_claimed_at")
    op.drop_column("notifications", "private")
    op.drop_column("notifications", "claimed_at")
    op.drop_column("job_claims", "finished_at")
