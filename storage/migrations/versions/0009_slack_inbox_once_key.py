"""slack_inbox.once_key: a replayed note is refused by the INSERT that stores it

Revision ID: 0009_slack_inbox_once_key
Revises: 0008_webhooks_inbound_events
Create Date: 2026-11-30 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_slack_inbox_once_key"
down_revision = "0008_webhooks_inbound_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slack_inbox") as batch:
        batch.add_column(sa.Column("once_key", sa.String(length=240), nullable=True))
    op.create_index("uq_slack_inbox_once_key", "slack_inbox", ["once_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_slack_inbox_once_key", table_name="slack_inbox")
    with op.batch_alter_table("slack_inbox") as batch:
        batch.drop_column("once_key")
