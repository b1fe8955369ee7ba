"""A process keeps the admin notes it has read of an episode and reads only those written
since: what it lists is what the database holds, whoever wrote it and whatever failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, event, select

from bot.clock import FixedClock
from bot.services import Services, build_services
from bot.services.types import Actor, Source
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory
from storage.models import AdminNote
from storage.repository import KnownNotes, UnitOfWork
from tests.helpers import import_rows

CLINICIAN = Actor("U0CLIN1", Source.SLACK)


@pytest.fixture
def notes_service(service: Services) -> Services:
    import_rows(service, "C100,U0CLIN1,Ana,2026-02-20T10:00,,America/Toronto")
    return service


def listed(service: Services) -> list[object]:
    """The note dates as a change sees them (the efforts a summary would list)."""
    with service.uow() as repo:
        client = service.episodes.client(repo, "C100", CLINICIAN)
        episode = service.episodes.episode(repo, client)
        return list(service.episodes.assess(repo, client, episode, service.clock.now()).note_dates)


def stored(engine: Engine) -> list[object]:
    with engine.connect() as c:
        return list(
            c.scalars(
                select(AdminNote.created_at).where(AdminNote.kind == "manual").order_by(AdminNote.id)
            )
        )


def test_notes_another_process_wrote_since_are_listed(
    notes_service: Services, engine: Engine, clock: FixedClock, settings: Settings,
    phrases: PhraseLibrary,
) -> None:
    notes_service.notes.log_note("C100", "first", actor=CLINICIAN)
    assert listed(notes_service) == stored(engine)  # read, and now known here
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    try:  # another process: its own engine, its own knowledge
        other = build_services(
            UnitOfWork(make_session_factory(other_engine)), clock, settings, phrases
        )
        for text in ("second", "third"):
            clock.advance(timedelta(hours=1))
            other.notes.log_note("C100", text, actor=CLINICIAN)
    finally:
        other_engine.dispose()
    clock.advance(timedelta(hours=1))
    assert listed(notes_service) == stored(engine)
    assert len(stored(engine)) == 3


def test_a_note_whose_change_failed_is_never_listed(
    notes_service: Services, engine: Engine, clock: FixedClock
) -> None:
    notes_service.notes.log_note("C100", "kept", actor=CLINICIAN)

    class Failed(Exception):
        pass

    def failing_change() -> None:
        with notes_service.uow() as repo:  # rolled back at the end
            client = notes_service.episodes.client(repo, "C100", CLINICIAN)
            episode = notes_service.episodes.episode(repo, client)
            notes_service.episodes.add_note(
                repo, client, episode, kind="manual", author="x", body="lost", now=clock.now()
            )
            assert len(repo.note_dates(episode.id)) == 2  # its own change sees it
            raise Failed

    with pytest.raises(Failed):
        failing_change()
    clock.advance(timedelta(minutes=5))
    notes_service.notes.log_note("C100", "after", actor=CLINICIAN)
    assert listed(notes_service) == stored(engine)
    assert len(stored(engine)) == 2


def new_notes_read_from(engine: Engine, action: Callable[[], object]) -> list[object]:
    """The note id each read of an episode's notes during `action` started after."""
    after: list[object] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_c: object, _cur: object, statement: str, parameters: object, *_: object) -> None:
        if "FROM admin_notes" in statement and "admin_notes.id >" in statement:
            values = parameters.values() if isinstance(parameters, dict) else parameters
            after.append(list(values)[-1])  # type: ignore[call-overload]

    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", _seen)
    return after


def test_a_short_history_is_read_whole_and_not_kept(
    notes_service: Services, engine: Engine, clock: FixedClock
) -> None:
    for i in range(KnownNotes.LONG - 2):
        clock.advance(timedelta(minutes=1))
        notes_service.notes.log_note("C100", f"note {i}", actor=CLINICIAN)
    clock.advance(timedelta(minutes=1))
    after = new_notes_read_from(
        engine, lambda: notes_service.notes.log_note("C100", "one more", actor=CLINICIAN)
    )
    assert after == [0]  # from the start: nothing of it is kept in memory
    assert listed(notes_service) == stored(engine)


def test_a_client_with_many_notes_reads_only_the_new_ones(
    notes_service: Services, engine: Engine, clock: FixedClock
) -> None:
    many = KnownNotes.LONG + 8
    for i in range(many):
        clock.advance(timedelta(minutes=1))
        notes_service.notes.log_note("C100", f"note {i}", actor=CLINICIAN)
    with engine.connect() as c:
        ids = list(c.scalars(select(AdminNote.id).order_by(AdminNote.id)))
    clock.advance(timedelta(minutes=1))
    after = new_notes_read_from(
        engine, lambda: notes_service.notes.log_note("C100", "one more", actor=CLINICIAN)
    )
    # From where this process had got to, not from the start: up to the last but one (the
    # last was its own change's, not yet committed when read), so two notes, not all.
    assert after == [ids[-2]]
    assert listed(notes_service) == stored(engine)
    assert len(stored(engine)) == many + 1


def test_only_the_most_recent_episodes_are_kept() -> None:
    known = KnownNotes()
    known.SIZE = 3
    for episode in range(5):
        known.put(episode, ())
    known.get(2)  # used: kept over the older ones
    known.put(9, ())
    assert [e for e in range(10) if known.get(e) is not None] == [2, 4, 9]
