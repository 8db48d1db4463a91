"""Sign-in attempts counted per account and per address, one row a counter.

The failures' log is replaced: a counter can be taken in one statement before
the password is checked, so concurrent attempts cannot all slip past the limit.
Failures still in the log are dropped; they only ever counted for five minutes.

Revision ID: 0007_login_attempts
Revises: 0006_refusals
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_login_attempts"
down_revision: str | Sequence[str] | None = "0006_refusals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        op.f("ix_login_attempts_window_started_at"),
        "login_attempts",
        ["window_started_at"],
    )
    op.drop_table("login_failures")


def downgrade() -> None:
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
    op.drop_table("login_attempts")
