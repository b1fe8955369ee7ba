"""composite indexes: the current episode, the policy's events, per-client notes/outbox/audit

Each query on a click's path is answered by one index seek whatever the history's size and
whether or not the planner has statistics (PostgreSQL right after a bulk import, or with
autovacuum off, otherwise walks the primary key backwards for the current episode).

Revision ID: 0004_composite_indexes
Revises: 0003_clinical_paths
Create Date: 2026-11-29 19:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0004_composite_indexes'
down_revision = '0003_clinical_paths'
branch_labels = None
depends_on = None

INDEXES = (
    ('episodes', 'ix_episodes_client_id_id', ['client_id', 'id']),
    ('events', 'ix_events_episode_kind', ['episode_id', 'kind']),
    ('admin_notes', 'ix_admin_notes_client_id_id', ['client_id', 'id']),
    ('outbox', 'ix_outbox_episode_id_id', ['episode_id', 'id']),
    ('audit_log', 'ix_audit_log_client_id_id', ['client_id', 'id']),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    # Key-prefix lookups (LIKE 'upd:<id>:%') on PostgreSQL, whatever the database's collation.
    op.create_index(
        'ix_outbox_key_pattern',
        'outbox',
        ['idempotency_key'],
        unique=False,
        postgresql_ops={'idempotency_key': 'text_pattern_ops'},
    )


def downgrade() -> None:
    op.drop_index('ix_outbox_key_pattern', table_name='outbox')
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
