"""reviews and hand-overs (issue 18 items 2 and 3): no schema change

The reviewer, the forwarder and the feedback of an outside receiver are kept as case events
(``escalated``, ``forwarded``, ``feedback``), whose kinds are plain strings: nothing to migrate.
This revision keeps the chain whole.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
