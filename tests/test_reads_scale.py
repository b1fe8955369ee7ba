"""App Home and the caseload read a page of clients in a fixed number of queries: the count
does not grow with the clinician's clients (it did: two or three queries per client)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, event

from bot.clock import FixedClock
from bot.services import build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_session_factory
from storage.models import Base
from storage.repository import UnitOfWork
from tests.seeding import seed_caseload

NOW = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def queries_for(engine: Engine, settings: Settings, phrases: PhraseLibrary, size: int) -> tuple[int, int]:
    uow = UnitOfWork(make_session_factory(engine))
    seed_caseload(uow, size=size, due=size // 3, clinicians=1, now=NOW)
    services = build_services(uow, FixedClock(NOW), settings, phrases)
    services.outreach.tick(NOW)  # some prompts, so App Home has rows in several sections
    with counting(engine) as home:
        data = services.reads.home("U00000000", is_cct=True)
    assert data.is_clinician
    with counting(engine) as caseload:
        rows = services.reads.caseload(clinician_slack_id="U00000000")
    assert len(rows) == size
    return len(home), len(caseload)


def test_app_home_and_caseload_take_the_same_queries_for_6_clients_as_for_120(
    engine: Engine, settings: Settings, phrases: PhraseLibrary
) -> None:
    small = queries_for(engine, settings, phrases, 6)
    with engine.begin() as connection:  # start again with 20x the clients
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    large = queries_for(engine, settings, phrases, 120)
    assert large == small
    assert max(small) <= 8
