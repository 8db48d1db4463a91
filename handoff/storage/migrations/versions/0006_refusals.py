"""Refusals: customers' requests refused by a limit, for the supervisors' numbers.

Revision ID: 0006_refusals
Revises: 0005_dead_letters
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_refusals"
down_revision: str | Sequence[str] | None = "0005_dead_letters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refusals")),
    )
    op.create_index("ix_refusals_created_at", "refusals", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_refusals_created_at", table_name="refusals")
    op.drop_table("refusals")
