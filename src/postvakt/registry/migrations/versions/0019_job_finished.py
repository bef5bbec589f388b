"""job_claims: when a rule job's run for a day finished

A job's claim was made before its work, and nothing said whether the work got done: a
process stopped in the middle of the daily-open check (or a job that failed on a database
error) left the claim, and the job did not run again that day.  From this version a claim
is finished when the work is; one that is not, whose claimer stopped or failed, is taken up
again.  Claims from before the upgrade are taken as finished.

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


def upgrade() -> None:
    with op.batch_alter_table("job_claims") as batch:
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE job_claims SET finished_at = claimed_at")


def downgrade() -> None:
    with op.batch_alter_table("job_claims") as batch:
        batch.drop_column("finished_at")
