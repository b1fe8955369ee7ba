"""partial indexes of open episodes' schedules: the tick's two queries without statistics

`due_episodes` and `due_headsups` ask `<due column> <= now AND closed_at IS NULL ORDER BY
<due column>, id LIMIT n`. On PostgreSQL without planner statistics (right after a bulk
import, or with autovacuum off) the single-column indexes lost to a scan of every episode:
33 ms and 23 ms per pass at 100,000 episodes with nothing due, 0.4 ms and 0.05 ms with these.

Revision ID: 0007_tickhome_schedule_indexes
Revises: 0006_importstatus
Create Date: 2026-11-29 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_tickhome_schedule_indexes'
down_revision = "0006_importstatus"
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_episodes_open_next_due', ['next_due_at', 'id']),
    ('ix_episodes_open_headsup_due', ['headsup_due_at', 'id']),
)


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(
            name,
            'episodes',
            columns,
            unique=False,
            postgresql_where=sa.text('closed_at IS NULL'),
            sqlite_where=sa.text('closed_at IS NULL'),
        )


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name='episodes')
