"""Changes of owner recorded as handoff transitions.

A transfer from one agent to another changes the owner, not the status, and
was not written to ``handoff_transitions``; the supervisors' handle time per
agent is read from that table, so the earlier such transfers are copied in
from ``handoff_transfers``, as steps from ``assigned`` to ``assigned``. Who
made them was not kept: their ``agent_id`` stays empty.

Revision ID: 0009_owner_changes
Revises: 0008_chat_sessions
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_owner_changes"
down_revision: str | Sequence[str] | None = "0008_chat_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO handoff_transitions (handoff_id, from_status, to_status,"
            " actor, agent_id, reason, assigned_agent_id, created_at)"
            " SELECT handoff_id, 'assigned', 'assigned', 'agent', NULL,"
            " 'transferred', to_agent_id, created_at FROM handoff_transfers"
            " WHERE from_agent_id IS NOT NULL AND to_agent_id IS NOT NULL"
        )
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM handoff_transitions WHERE from_status = to_status"))
