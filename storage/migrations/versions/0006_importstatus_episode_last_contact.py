"""episodes.last_contact_at: the last contact cached with the state and the schedule

`status` of the whole caseload then reads a settled episode's row (active, nothing due yet)
from the episode alone instead of re-assessing its history. Existing rows stay NULL until
their episode is next stored; a NULL is read as "not cached" and that episode is assessed.

Revision ID: 0006_importstatus
Revises: 0005_slack_inbox
Create Date: 2026-11-29 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006_importstatus"
down_revision = "0005_slack_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_contact_at", storage.types.UtcDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        batch_op.drop_column("last_contact_at")
