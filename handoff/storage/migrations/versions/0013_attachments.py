"""Files in conversations: the photos and documents customers send and agents attach.

Kept in the database, so every service instance serves them; a message names the
file it carries.

Revision ID: 0013_attachments
Revises: 0012_delivery_failures
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_attachments"
down_revision: str | Sequence[str] | None = "0012_delivery_failures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column(
            "uploaded_by",
            sa.Enum(
                "customer",
                "agent",
                name="attachment_uploader",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_attachments_handoff_id_handoffs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_attachments_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index(op.f("ix_attachments_handoff_id"), "attachments", ["handoff_id"])
    op.create_index(op.f("ix_attachments_created_at"), "attachments", ["created_at"])
    op.create_index(
        "ix_attachments_sender_id_created_at",
        "attachments",
        ["sender_id", "created_at"],
    )
    # A plain ADD COLUMN: rebuilding the table on SQLite would risk its indexes.
    op.add_column(
        "messages", sa.Column("attachment_id", sa.String(length=32), nullable=True)
    )
    op.create_index(op.f("ix_messages_attachment_id"), "messages", ["attachment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_attachment_id"), table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("attachment_id")
    op.drop_index("ix_attachments_sender_id_created_at", table_name="attachments")
    op.drop_index(op.f("ix_attachments_created_at"), table_name="attachments")
    op.drop_index(op.f("ix_attachments_handoff_id"), table_name="attachments")
    op.drop_table("attachments")
