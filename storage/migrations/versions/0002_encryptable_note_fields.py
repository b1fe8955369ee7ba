"""admin_notes.fields as TEXT, so the summary's fields can be encrypted at rest

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The JSON text is kept as is (and stays readable); new rows may hold a ciphertext.
    with op.batch_alter_table('admin_notes', schema=None) as batch_op:
        batch_op.alter_column(
            'fields',
            existing_type=sa.JSON(),
            type_=sa.Text(),
            existing_nullable=True,
            postgresql_using='fields::text',
        )


def downgrade() -> None:
    with op.batch_alter_table('admin_notes', schema=None) as batch_op:
        batch_op.alter_column(
            'fields',
            existing_type=sa.Text(),
            type_=sa.JSON(),
            existing_nullable=True,
            postgresql_using='fields::json',
        )
