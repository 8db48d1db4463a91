"""Routing: agent status, capacity and skills; skill queues and priorities;
transfers, canned responses, resolution codes, timeouts and login failures.

Revision ID: 0002_routing
Revises: 0001
Create Date: 2026-11-22 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_routing"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SKILLS = ("billing", "technical", "retention", "general")


def _string_enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column(
                "status",
                _string_enum("agent_status", "online", "away", "offline"),
                nullable=False,
                server_default="offline",
            )
        )
        batch.add_column(
            sa.Column("capacity", sa.Integer(), nullable=False, server_default="3")
        )
        batch.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column(
                "status_changed_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
    # The defaults only fill existing rows; the application sets every value.
    with op.batch_alter_table("agents") as batch:
        for name in ("status", "capacity", "active", "status_changed_at"):
            batch.alter_column(name, server_default=None)

    op.create_table(
        "agent_skills",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("skill", _string_enum("skill", *SKILLS), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_skills_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "skill", name=op.f("pk_agent_skills")),
    )
    op.create_index(op.f("ix_agent_skills_skill"), "agent_skills", ["skill"])

    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(
            sa.Column(
                "mode",
                _string_enum("handoff_mode", "queue", "callback", "ticket"),
                nullable=False,
                server_default="queue",
            )
        )
        batch.add_column(
            sa.Column(
                "skill",
                _string_enum("skill", *SKILLS),
                nullable=False,
                server_default="general",
            )
        )
        batch.add_column(
            sa.Column(
                "priority",
                _string_enum("priority", "urgent", "high", "normal", "low"),
                nullable=False,
                server_default="normal",
            )
        )
        batch.add_column(
            sa.Column(
                "trigger",
                _string_enum(
                    "trigger",
                    "explicit_request",
                    "complex_topic",
                    "emotion",
                    "repeated_failure",
                    "verification_failed",
                    "other",
                ),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column(
                "resolution",
                _string_enum(
                    "resolution",
                    "resolved",
                    "follow_up",
                    "no_response",
                    "duplicate",
                    "spam",
                    "customer_cancelled",
                    "timed_out",
                ),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column(
                "last_customer_activity_at", sa.DateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(
            sa.Column("awaiting_agent_since", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("notice_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("notice_position", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("notice_wait_seconds", sa.Integer(), nullable=True))
    op.execute("UPDATE handoffs SET last_customer_activity_at = created_at")
    with op.batch_alter_table("handoffs") as batch:
        for name in ("mode", "skill", "priority"):
            batch.alter_column(name, server_default=None)
        batch.alter_column("last_customer_activity_at", nullable=False)
    op.create_index(
        "ix_handoffs_status_skill_priority",
        "handoffs",
        ["status", "skill", "priority", "created_at"],
    )

    op.create_table(
        "handoff_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("from_agent_id", sa.Integer(), nullable=True),
        sa.Column("to_agent_id", sa.Integer(), nullable=True),
        sa.Column("to_skill", _string_enum("skill", *SKILLS), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_agent_id"],
            ["agents.id"],
            name=op.f("fk_handoff_transfers_from_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_handoff_transfers_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_agent_id"],
            ["agents.id"],
            name=op.f("fk_handoff_transfers_to_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_transfers")),
    )
    op.create_index(
        op.f("ix_handoff_transfers_handoff_id"), "handoff_transfers", ["handoff_id"]
    )

    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
        sa.UniqueConstraint("language", "title", name="uq_canned_responses_title"),
    )

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_username"), "login_failures", ["username"])
    op.create_index(
        op.f("ix_login_failures_client_address"), "login_failures", ["client_address"]
    )
    op.create_index(
        op.f("ix_login_failures_failed_at"), "login_failures", ["failed_at"]
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("canned_responses")
    op.drop_table("handoff_transfers")
    op.drop_index("ix_handoffs_status_skill_priority", table_name="handoffs")
    with op.batch_alter_table("handoffs") as batch:
        for name in (
            "notice_wait_seconds",
            "notice_position",
            "notice_at",
            "flagged_at",
            "awaiting_agent_since",
            "last_customer_activity_at",
            "resolution",
            "trigger",
            "priority",
            "skill",
            "mode",
        ):
            batch.drop_column(name)
    op.drop_table("agent_skills")
    with op.batch_alter_table("agents") as batch:
        for name in ("status_changed_at", "active", "capacity", "status"):
            batch.drop_column(name)
