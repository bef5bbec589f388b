"""on PostgreSQL, a draft's letter (a .docx, a zip already compressed) is stored as it is,
not compressed again: storage EXTERNAL for drafts.attachment (out of line, no compression)

PostgreSQL compresses a large value before storing it (pglz), whether or not it shrinks: for
the intake's letters of 10–20 KB that was most of the time a batch's drafts took to insert,
while the pass waited, and the draft placer's reads paid to decompress them.  SQLite stores
the bytes as they are already; nothing changes there.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Rows stored before keep their form; only new values are stored uncompressed.
        op.execute("ALTER TABLE drafts ALTER COLUMN attachment SET STORAGE EXTERNAL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE drafts ALTER COLUMN attachment SET STORAGE EXTENDED")
