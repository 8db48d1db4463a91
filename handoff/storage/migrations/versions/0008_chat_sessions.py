"""Web chat session ids recorded with the address they were issued to.

The per-address issuance limit was kept in each instance's memory; counted in
this table it holds across instances. Handoffs keep the address of their
session, for the per-address handoff limit.

Revision ID: 0008_chat_sessions
Revises: 0007_login_attempts
Create Date: 2026-12-03 07:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_chat_sessions"
down_revision: str | Sequence[str] | None = "0007_login_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_sessions",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_chat_sessions")),
    )
    op.create_index(
        op.f("ix_chat_sessions_client_address"), "chat_sessions", ["client_address"]
    )
    op.create_index(op.f("ix_chat_sessions_issued_at"), "chat_sessions", ["issued_at"])
    # A plain ADD COLUMN: rebuilding the table on SQLite would risk its indexes.
    op.add_column("handoffs", sa.Column("client_address", sa.String(length=64)))
    op.create_index(op.f("ix_handoffs_client_address"), "handoffs", ["client_address"])


def downgrade() -> None:
    op.drop_index(op.f("ix_handoffs_client_address"), table_name="handoffs")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("client_address")
    op.drop_table("chat_sessions")
