"""The Alembic migrations build exactly the schema the models describe, on either backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from storage.db import current_revision, head_revision
from storage.models import Base


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_the_schedule_and_the_outbox_are_indexed(engine: Engine) -> None:
    indexed = {
        table: {tuple(ix["column_names"]) for ix in inspect(engine).get_indexes(table)}
        for table in ("episodes", "outbox")
    }
    assert ("next_due_at",) in indexed["episodes"]
    assert ("status", "deliver_after") in indexed["outbox"]
    uniques = inspect(engine).get_unique_constraints("outbox")
    assert ["idempotency_key"] in [u["column_names"] for u in uniques]
