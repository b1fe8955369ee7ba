"""inbound_events: platform webhook events acknowledged on receipt, applied right after

Revision ID: 0008_webhooks_inbound_events
Revises: 0007_tickhome_schedule_indexes
Create Date: 2026-11-29 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008_webhooks_inbound_events"
down_revision = "0007_tickhome_schedule_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_inbound_events_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_events")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_inbound_events_delivery_id")),
    )
    op.create_index(
        "ix_inbound_events_pending",
        "inbound_events",
        ["id"],
        unique=False,
        sqlite_where=sa.text("applied_at IS NULL"),
        postgresql_where=sa.text("applied_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_events_pending", table_name="inbound_events")
    op.drop_table("inbound_events")
