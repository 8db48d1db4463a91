"""Analytics: the bot's conversations and customers' satisfaction ratings.

Revision ID: 0003_analytics
Revises: 0002_routing
Create Date: 2026-11-22 18:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_analytics"
down_revision: str | Sequence[str] | None = "0002_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint(
            "sender_id", "started_at", name=op.f("uq_conversations_session")
        ),
    )
    op.create_index(
        "ix_conversations_first_message_at",
        "conversations",
        ["first_message_at"],
    )
    op.create_table(
        "csat_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_csat_ratings_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_csat_ratings_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_csat_ratings_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_ratings")),
        sa.UniqueConstraint("handoff_id", name=op.f("uq_csat_ratings_handoff_id")),
    )
    op.create_index("ix_csat_ratings_agent_id", "csat_ratings", ["agent_id"])
    op.create_index("ix_csat_ratings_created_at", "csat_ratings", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_csat_ratings_created_at", table_name="csat_ratings")
    op.drop_index("ix_csat_ratings_agent_id", table_name="csat_ratings")
    op.drop_table("csat_ratings")
    op.drop_index("ix_conversations_first_message_at", table_name="conversations")
    op.drop_table("conversations")
