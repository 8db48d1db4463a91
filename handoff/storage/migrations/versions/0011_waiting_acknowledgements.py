"""When a waiting customer's message was last acknowledged.

A customer who writes while queued is told their message will reach the agent,
at most once a minute. Kept on the handoff so the limit holds across service
instances.

Revision ID: 0011_waiting_acknowledgements
Revises: 0010_language_and_canned_replies
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_waiting_acknowledgements"
down_revision: str | Sequence[str] | None = "0010_language_and_canned_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: rebuilding the table on SQLite would risk its indexes.
    op.add_column("handoffs", sa.Column("acknowledged_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("acknowledged_at")
