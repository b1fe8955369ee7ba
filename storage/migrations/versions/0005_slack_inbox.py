"""slack_inbox: notes and button presses acknowledged once stored, applied right after

Revision ID: 0005_slack_inbox
Revises: 0004_composite_indexes
Create Date: 2026-11-29 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0005_slack_inbox"
down_revision = "0004_composite_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("not_before", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_inbox")),
    )
    with op.batch_alter_table("slack_inbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_slack_inbox_status_not_before", ["status", "not_before"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("slack_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_slack_inbox_status_not_before")
    op.drop_table("slack_inbox")
