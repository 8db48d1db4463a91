"""The console's own id for an agent's reply, so that a reply sent again is the same.

An agent whose reply got no answer (the service instance gone, the customer not
connected for a moment) sends it again with the same client id; the service finds
the reply it stored and delivers that one, under its own message id, instead of
storing a second copy the customer would read twice.

Revision ID: 0014_reply_client_ids
Revises: 0013_attachments
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_reply_client_ids"
down_revision: str | Sequence[str] | None = "0013_attachments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("client_id", sa.String(64)))
    # Messages without one (the customer's, notes, older replies) are all NULL,
    # which a unique index allows any number of.
    op.create_index(
        "uq_messages_handoff_id_client_id",
        "messages",
        ["handoff_id", "client_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_messages_handoff_id_client_id", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("client_id")
