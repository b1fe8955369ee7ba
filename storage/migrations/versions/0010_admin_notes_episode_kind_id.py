"""admin_notes (episode_id, kind, id): an episode's notes after a known one, in one seek

Revision ID: 0010_admin_notes_episode_kind_id
Revises: 0009_slack_inbox_once_key
Create Date: 2026-11-30 05:00:00

A process keeps the notes it has read of an episode and reads only those written since
(`id > last`): SQLite's index carries the row id already, PostgreSQL's needs the column.
"""

from __future__ import annotations

from alembic import op

revision = "0010_admin_notes_episode_kind_id"
down_revision = "0009_slack_inbox_once_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_admin_notes_episode_kind_id", "admin_notes", ["episode_id", "kind", "id"]
    )
    op.drop_index("ix_admin_notes_episode_kind", table_name="admin_notes")


def downgrade() -> None:
    op.create_index("ix_admin_notes_episode_kind", "admin_notes", ["episode_id", "kind"])
    op.drop_index("ix_admin_notes_episode_kind_id", table_name="admin_notes")
