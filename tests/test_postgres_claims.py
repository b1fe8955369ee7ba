"""On PostgreSQL several workers tick at once; every due prompt is queued exactly once."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text

from bot.clock import FixedClock
from bot.services import build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Base, EventRecord, OutboxMessage
from storage.repository import UnitOfWork
from tests.helpers import import_rows

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
pytestmark = [pytest.mark.postgres, pytest.mark.once]


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A fresh database of its own on the local server; skipped only when none can be had."""
    base_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_URL)
    try:
        admin = make_engine(base_url, isolation_level="AUTOCOMMIT")
        # named after the base database, so runs against different ones never drop each other's
        name = f"{admin.url.database or 'test'}_claims"
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"no PostgreSQL server at {base_url} ({exc.__class__.__name__}); set TEST_POSTGRES_URL")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=8)
    migrate(engine)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_three_workers_ticking_at_once_queue_each_prompt_once(pg_engine: Engine) -> None:
    assert Base.metadata.tables  # the schema came from the migration, not create_all
    settings = Settings(_env_file=None, database_url=str(pg_engine.url), cct_channel_id="C0CCT")
    clock = FixedClock(datetime(2026, 3, 3, 17, tzinfo=UTC))
    uow = UnitOfWork(make_session_factory(pg_engine))
    service = build_services(uow, clock, settings, PhraseLibrary.load())
    lines = [f"R-{i},U0CLIN{i % 7},,2026-03-02T10:00,,America/Toronto" for i in range(600)]
    import_rows(service, *lines)

    at = datetime(2026, 3, 16, 15, tzinfo=UTC)  # 11:00 in Toronto, all 600 due
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def worker() -> None:
        try:
            start.wait()
            worker_service = build_services(uow, FixedClock(at), settings, service.phrases)
            results.append(len(worker_service.outreach.tick(at).queued))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(results) == 600
    with uow() as repo:
        keys = repo.session.scalars(select(OutboxMessage.idempotency_key)).all()
        prompted = repo.session.scalars(
            select(EventRecord.episode_id).where(EventRecord.kind == "prompted")
        ).all()
    assert len(keys) == 600
    assert len(set(keys)) == 600
    assert set(Counter(prompted).values()) == {1}  # no episode was advanced twice
