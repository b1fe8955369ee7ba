"""Nothing is lost under load: a write the database refuses for a moment is tried again within
the request's budget; past it the person is told it was not saved and nothing half-done stays.

The lock is held for real from another connection (SQLite: a write transaction; PostgreSQL:
the client's row locked FOR UPDATE), so these run the same code a busy production does.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.clock import FixedClock
from bot.domain.errors import NotSaved
from bot.platform.events import PlatformEvent, PlatformEventType
from bot.platform.sink import ServiceSink
from bot.services import Services, build_services
from bot.services.types import Actor, Source
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.models import AdminNote, AuditEntry, EventRecord
from storage.repository import UnitOfWork
from storage.retry import BudgetExhausted, is_transient, within_budget
from tests.helpers import import_rows

CLINICIAN = Actor("U0CLIN1", Source.SLACK)


@pytest.fixture
def busy_service(
    uow: UnitOfWork, clock: FixedClock, settings: Settings, phrases: PhraseLibrary
) -> Services:
    service = build_services(
        uow, clock, settings.model_copy(update={"write_budget_seconds": 0.4}), phrases
    )
    import_rows(service, "C100,U0CLIN1,Ana,2026-02-20T10:00,,America/Toronto")
    return service


@contextmanager
def write_lock_held(engine: Engine, chart_id: str) -> Iterator[None]:
    """Another writer holds what a note on `chart_id` needs, until the block ends."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        assert path
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the database's one write lock
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    with engine.connect() as other, other.begin():
        other.execute(
            text("SELECT id FROM clients WHERE chart_id = :c FOR UPDATE"), {"c": chart_id}
        )
        yield


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            int(connection.scalar(select(func.count()).select_from(table)) or 0)
            for table in (AdminNote, EventRecord, AuditEntry)
        )


def test_a_note_blocked_past_the_budget_is_refused_plainly_and_leaves_nothing(
    busy_service: Services, engine: Engine
) -> None:
    before = counts(engine)
    started = time.monotonic()
    with write_lock_held(engine, "C100"), pytest.raises(NotSaved, match="wasn't saved"):
        busy_service.notes.log_note("C100", "called the client's mother", actor=CLINICIAN)
    waited = time.monotonic() - started
    assert counts(engine) == before  # no note, no event, no audit entry: nothing half-done
    assert 0.3 < waited < 2.0  # it waited about the budget, not the 30 s busy timeout


def test_a_note_blocked_briefly_is_retried_and_stored_once(
    busy_service: Services, engine: Engine
) -> None:
    service = build_services(
        busy_service.uow,
        busy_service.clock,
        busy_service.settings.model_copy(update={"write_budget_seconds": 3.0}),
        busy_service.phrases,
    )
    before = counts(engine)
    released = threading.Event()

    def hold() -> None:
        with write_lock_held(engine, "C100"):
            held.set()
            released.wait(0.3)

    held = threading.Event()
    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        outcome = service.notes.log_note("C100", "left a voicemail", actor=CLINICIAN)
    finally:
        released.set()
        holder.join()
    assert outcome.note_id is not None
    notes, events, audits = counts(engine)
    assert (notes, events, audits) == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_a_refused_webhook_write_is_a_server_error_so_the_platform_sends_it_again(
    busy_service: Services, engine: Engine
) -> None:
    event = PlatformEvent(
        source="generic",
        event_id="evt-1",
        type=PlatformEventType.CLIENT_MESSAGE,
        client_id="C100",
        occurred_at=datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
    )
    with write_lock_held(engine, "C100"), pytest.raises(NotSaved):
        ServiceSink(busy_service)(event)
    # Nothing was claimed either: the platform's retry is applied, not taken for a duplicate.
    assert ServiceSink(busy_service)(event).value == "applied"


def test_only_passing_database_errors_are_tried_again() -> None:
    calls = 0

    def conflict() -> None:
        nonlocal calls
        calls += 1
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    with pytest.raises(IntegrityError):
        within_budget(conflict, seconds=1.0)
    assert calls == 1
    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert is_transient(locked)
    assert not is_transient(OperationalError("x", {}, sqlite3.OperationalError("no such table")))


def test_retries_stop_at_the_deadline_and_say_how_many_were_made() -> None:
    attempts = 0

    def always_locked() -> None:
        nonlocal attempts
        attempts += 1
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))

    with pytest.raises(BudgetExhausted) as exhausted:
        within_budget(always_locked, seconds=0.2)
    assert exhausted.value.attempts == attempts > 1


def test_postgres_lock_wait_is_sent_when_it_changes_and_forgotten_with_a_rollback(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("lock_timeout is PostgreSQL's (SQLite: the busy timeout, tested above)")
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_c: object, _cur: object, statement: str, *_: object) -> None:
        if statement.startswith("SET lock_timeout"):
            sent.append(statement)

    with engine.connect() as connection:  # one session throughout

        def timeout() -> str:
            with connection.begin():
                return str(connection.exec_driver_sql("SHOW lock_timeout").scalar())

        budgeted = within_budget(timeout, seconds=2.0)
        assert budgeted.endswith("ms")
        assert 0 < int(budgeted[:-2]) <= 2000
        assert within_budget(timeout, seconds=2.0) == budgeted
        assert len(sent) == 1  # the second transaction found it set already
        assert timeout() == "0"  # outside a budget: wait as long as it takes, as by default

        class Undone(Exception):
            pass

        def rolled_back() -> None:
            with connection.begin():
                raise Undone

        with pytest.raises(Undone):
            within_budget(rolled_back, seconds=2.0)  # its SET is undone with it
        assert within_budget(timeout, seconds=2.0) == budgeted  # so it is sent again
    assert len(sent) == 4


def test_a_connection_dropped_mid_transaction_is_tried_again_with_its_lock_wait(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a server that drops the session: PostgreSQL")
    tries = 0

    def dropped_once() -> str:
        nonlocal tries
        tries += 1
        with engine.begin() as connection:
            if tries == 1:  # the server ends this session (a restart, a failover)
                connection.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
            return str(connection.exec_driver_sql("SHOW lock_timeout").scalar())

    assert within_budget(dropped_once, seconds=2.0) not in {"0", ""}
    assert tries == 2
