"""messages: how a person says a citizen's message was answered when no reply was seen
(by telephone, at the desk; or that it needs none, such as a thank-you after the answer)

From this version a citizen's message in a case that came after the case's answer (or its
hand-over) has a reply clock of its own.  Such messages from before the upgrade were
watched by nothing; those whose reply time has already passed are marked answered here,
with a note that says why, rather than all raising breach notices at the first reminder run
(months of "tack för svaret").  Those still within their reply time are watched from now.
'postvakt messages list' shows them with the note.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

NOTE = (
    "kom i ärendet efter svaret, innan Postvakt bevakade sådana meddelanden; svarstiden "
    "hade gått ut vid uppgraderingen och räknas inte"
)

_DT = sa.DateTime(timezone=True)
messages = sa.table(
    "messages",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("disposition", sa.String),
    sa.column("sender_address", sa.String),
    sa.column("received_at", _DT),
    sa.column("processed_at", _DT),
    sa.column("reply_due", sa.Date),
    sa.column("answered_at", _DT),
    sa.column("answered_by", sa.String),
    sa.column("answered_note", sa.Text),
)
cases = sa.table(
    "cases",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("sender_address", sa.String),
)
events = sa.table(
    "case_events",
    sa.column("case_id", sa.Integer),
    sa.column("at", _DT),
    sa.column("kind", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("answered_note", sa.Text(), nullable=True))
    bind = op.get_bind()
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo("Europe/Stockholm")).date()
    stopped = (
        sa.select(sa.func.max(events.c.at))
        .where(events.c.case_id == messages.c.case_id, events.c.kind.in_(("answered", "forwarded")))
        .scalar_subquery()
    )
    first = messages.alias("first")  # the message the case was made of
    sender = sa.func.lower(messages.c.sender_address)
    answered_case = (
        sa.select(cases.c.id)
        .where(
            cases.c.id == messages.c.case_id,
            cases.c.status.in_(("answered", "closed", "forwarded")),
            sa.or_(
                sa.func.lower(cases.c.sender_address) == sender,
                sa.select(first.c.id)
                .where(
                    first.c.case_id == cases.c.id,
                    first.c.disposition == "case",
                    sa.func.lower(first.c.sender_address) == sender,
                )
                .correlate(cases, messages)
                .exists(),
            ),
        )
        .exists()
    )
    bind.execute(
        messages.update()
        .where(
            messages.c.disposition == "followup",
            messages.c.answered_at.is_(None),
            messages.c.reply_due < today,
            answered_case,
            sa.func.coalesce(messages.c.received_at, messages.c.processed_at) > stopped,
        )
        .values(
            # stored as every time is: UTC, without zone on SQLite
            answered_at=now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now,
            answered_by="postvakt",
            answered_note=NOTE,
        )
    )


def downgrade() -> None:
    # what the upgrade marked answered is unanswered again: without the note, nothing would
    # say why they count as answered
    op.get_bind().execute(
        messages.update()
        .where(messages.c.answered_by == "postvakt", messages.c.answered_note == NOTE)
        .values(answered_at=None, answered_by=None)
    )
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("answered_note")
