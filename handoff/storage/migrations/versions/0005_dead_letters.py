"""Dead letters: events from the bot that could not be taken, with the reason.

Revision ID: 0005_dead_letters
Revises: 0004_handoff_transitions
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_dead_letters"
down_revision: str | Sequence[str] | None = "0004_handoff_transitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("event_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint("event_sha256", name=op.f("uq_dead_letters_event_sha256")),
    )


def downgrade() -> None:
    op.drop_table("dead_letters")
