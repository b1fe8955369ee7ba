"""early heads-up table and schedule column; report columns and indexes (issue #15)

Revision ID: 0002_headsups_and_report
Revises: 0001
Create Date: 2026-11-29 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0002_headsups_and_report"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outreach_started_at", storage.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("headsup_due_at", storage.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("headsup_stretch", sa.String(length=40), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_episodes_outreach_started_at"), ["outreach_started_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_episodes_headsup_due_at"), ["headsup_due_at"], unique=False)
    with op.batch_alter_table("admin_notes", schema=None) as batch_op:
        batch_op.create_index("ix_admin_notes_episode_kind", ["episode_id", "kind"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_kind_created_at", ["kind", "created_at"], unique=False)
    op.create_table(
        "headsups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("stretch", sa.String(length=40), nullable=False),
        sa.Column("pattern", sa.JSON(), nullable=False),
        sa.Column("line", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_headsups_client_id_clients")),
        sa.ForeignKeyConstraint(["clinician_id"], ["clinicians.id"], name=op.f("fk_headsups_clinician_id_clinicians")),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"], name=op.f("fk_headsups_episode_id_episodes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_headsups")),
        sa.UniqueConstraint("episode_id", "stretch", name=op.f("uq_headsups_episode_id")),
    )
    with op.batch_alter_table("headsups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_headsups_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_headsups_clinician_id"), ["clinician_id"], unique=False)
        batch_op.create_index("ix_headsups_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("headsups", schema=None) as batch_op:
        batch_op.drop_index("ix_headsups_created_at")
        batch_op.drop_index(batch_op.f("ix_headsups_clinician_id"))
        batch_op.drop_index(batch_op.f("ix_headsups_client_id"))
    op.drop_table("headsups")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_kind_created_at")
    with op.batch_alter_table("admin_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_admin_notes_episode_kind")
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_episodes_headsup_due_at"))
        batch_op.drop_index(batch_op.f("ix_episodes_outreach_started_at"))
        batch_op.drop_column("headsup_stretch")
        batch_op.drop_column("headsup_due_at")
        batch_op.drop_column("outreach_started_at")
