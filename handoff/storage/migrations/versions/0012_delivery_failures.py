"""Why an agent's reply was not delivered, kept on the message.

A messaging channel may refuse a reply for good (the WhatsApp window closed, the
customer blocked the bot) or after its retries; the reason is shown on the message
in the console and counted per channel in the supervisors' numbers.

Revision ID: 0012_delivery_failures
Revises: 0011_waiting_acknowledgements
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_delivery_failures"
down_revision: str | Sequence[str] | None = "0011_waiting_acknowledgements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: rebuilding the table on SQLite would risk its indexes.
    op.add_column(
        "messages",
        sa.Column(
            "failure_reason",
            sa.Enum(
                "platform_error",
                "window_closed",
                "blocked",
                "invalid_recipient",
                "timeout",
                "rasa_unavailable",
                name="delivery_failure_reason",
                native_enum=False,
                length=32,
            ),
        ),
    )
    op.add_column("messages", sa.Column("failure_permanent", sa.Boolean()))
    op.create_index(
        "ix_messages_failure_reason_created_at",
        "messages",
        ["failure_reason", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_messages_failure_reason_created_at", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("failure_permanent")
        batch.drop_column("failure_reason")
