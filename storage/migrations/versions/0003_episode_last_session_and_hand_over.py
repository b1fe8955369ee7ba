"""episodes: last attended session known at opening, who a hand-over left; name source

Revision ID: 0003_clinical_paths
Revises: 0002_headsups_and_report
Create Date: 2026-11-29 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003_clinical_paths"
down_revision = "0002_headsups_and_report"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinicians", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name_source", sa.String(length=16), nullable=True))
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("baseline_session_at", storage.types.UtcDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("handed_over_from", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        batch_op.drop_column("handed_over_from")
        batch_op.drop_column("baseline_session_at")
    with op.batch_alter_table("clinicians", schema=None) as batch_op:
        batch_op.drop_column("display_name_source")
