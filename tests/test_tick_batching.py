"""A scheduler pass writes a batch of due episodes in a fixed number of statements (it wrote
three per episode), and batching changes nothing of what is written: one outbox row per
step, one PROMPTED event, the schedule stored, nothing queued twice. App Home's queries do
not grow with the clients it only counts, nor with the CCT queue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, event, func, select, update

from bot.clock import FixedClock
from bot.services import Services, build_services
from bot.services.outreach import TICK_BATCH
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_session_factory
from storage.models import Base, Episode, EventRecord, OutboxMessage
from storage.repository import UnitOfWork
from tests.seeding import seed_caseload

NOW = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)  # a Monday, 11:00 in Toronto


@contextmanager
def statements(engine: Engine) -> Iterator[Counter[str]]:
    """Every statement sent to the database, counted by its first word (an executemany of
    many rows is one)."""
    seen: Counter[str] = Counter()

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen[statement.lstrip().split(None, 1)[0].upper()] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def seeded(
    engine: Engine, settings: Settings, phrases: PhraseLibrary, *, size: int, due: int
) -> Services:
    with engine.begin() as connection:  # start from nothing (a test may seed twice)
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    uow = UnitOfWork(make_session_factory(engine))
    seed_caseload(uow, size=size, due=due, clinicians=3, now=NOW)
    return build_services(uow, FixedClock(NOW), settings, phrases)


def tick_statements(
    engine: Engine, settings: Settings, phrases: PhraseLibrary, due: int
) -> Counter[str]:
    services = seeded(engine, settings, phrases, size=due + 5, due=due)
    with statements(engine) as seen:
        result = services.outreach.tick(NOW)
    assert len(result.queued) == due
    return seen


def test_a_tick_batch_takes_the_same_statements_for_150_due_episodes_as_for_3(
    engine: Engine, settings: Settings, phrases: PhraseLibrary
) -> None:
    few = tick_statements(engine, settings, phrases, 3)
    many = tick_statements(engine, settings, phrases, 150)
    assert many == few
    # one outbox insert, one event insert and one schedule update for the whole batch
    assert few["UPDATE"] == 1
    assert few["INSERT"] == 3  # outbox rows, events, the last_tick mark
    assert sum(few.values()) <= 12


def test_statements_grow_by_batch_not_by_due_episode(
    engine: Engine, settings: Settings, phrases: PhraseLibrary
) -> None:
    one_batch = sum(tick_statements(engine, settings, phrases, 10).values())
    three_batches = sum(tick_statements(engine, settings, phrases, 2 * TICK_BATCH + 10).values())
    assert three_batches <= 3 * one_batch


def test_a_batched_pass_writes_each_prompt_once_and_stores_the_schedule(
    engine: Engine, settings: Settings, phrases: PhraseLibrary
) -> None:
    services = seeded(engine, settings, phrases, size=30, due=20)
    first = services.outreach.tick(NOW)
    again = services.outreach.tick(NOW)
    later = services.outreach.tick(NOW + timedelta(minutes=5))
    assert len(first.queued) == 20
    assert again.queued == []
    assert later.queued == []
    with services.uow() as repo:
        keys = repo.session.scalars(select(OutboxMessage.idempotency_key)).all()
        prompted = repo.session.scalars(
            select(EventRecord.episode_id).where(EventRecord.kind == "prompted")
        ).all()
        episodes = repo.session.scalars(select(Episode).where(Episode.id <= 20)).all()
    assert sorted(keys) == sorted(q.key for q in first.queued)
    assert len(set(keys)) == 20
    assert Counter(prompted) == Counter(range(1, 21))  # one PROMPTED per due episode
    for episode in episodes:
        assert episode.state == "outreach"
        assert episode.next_due_at is not None
        assert episode.next_due_at > NOW
        assert episode.updated_at == NOW


def test_a_prompt_already_in_the_outbox_is_not_queued_again_but_the_episode_moves_on(
    engine: Engine, settings: Settings, phrases: PhraseLibrary
) -> None:
    services = seeded(engine, settings, phrases, size=4, due=2)
    with services.uow() as repo:  # as if another worker had written episode 1's row
        repo.add_outbox(
            OutboxMessage(
                idempotency_key="ep1:checkin-1:0",
                episode_id=1,
                kind="checkin",
                recipient_kind="clinician",
                recipient="U00000000",
                payload={"chart_id": "R-0", "episode_id": 1, "step": "checkin-1"},
                status="pending",
                deliver_after=NOW,
                attempts=0,
                created_at=NOW,
            )
        )
    result = services.outreach.tick(NOW)
    assert [q.key for q in result.queued] == ["ep2:checkin-1:0"]
    with services.uow() as repo:
        assert repo.outbox_by_key("ep1:checkin-1:0") is not None
        assert repo.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
        moved = repo.session.scalars(select(Episode.next_due_at).where(Episode.id <= 2)).all()
    assert all(due is not None and due > NOW for due in moved)


def test_the_last_tick_mark_is_set_again_and_read_back(
    engine: Engine, settings: Settings, phrases: PhraseLibrary
) -> None:
    services = seeded(engine, settings, phrases, size=3, due=1)
    services.outreach.tick(NOW)
    services.outreach.tick(NOW + timedelta(minutes=1))
    with services.uow() as repo:
        mark = repo.get_mark("last_tick")
        assert mark is not None
        assert mark.at == NOW + timedelta(minutes=1)
        repo.mark(name="last_tick", at=NOW + timedelta(minutes=2), detail="again")
        again = repo.get_mark("last_tick")  # the copy this session holds is not stale
        assert again is not None
        assert (again.at, again.detail) == (NOW + timedelta(minutes=2), "again")


def home_selects(services: Services, engine: Engine) -> int:
    with statements(engine) as seen:
        data = services.reads.home("U00000000", is_cct=True)
    assert data.is_clinician
    return seen["SELECT"]


def test_app_home_queries_do_not_grow_with_settled_clients_or_the_cct_queue(
    engine: Engine, settings: Settings, phrases: PhraseLibrary
) -> None:
    small = seeded(engine, settings, phrases, size=9, due=3)
    small.outreach.tick(NOW)
    few = home_selects(small, engine)
    large = seeded(engine, settings, phrases, size=600, due=30)
    large.outreach.tick(NOW)
    with engine.begin() as connection:  # 40 episodes waiting for CCT, over three clinicians
        connection.execute(
            update(Episode).where(Episode.id > 500, Episode.id <= 540).values(state="discharged")
        )
    data = large.reads.home("U00000000", is_cct=True)
    assert len(data.cct_queue) == 40
    assert data.active_count + len(data.needs_action) + len(data.discharging) == 200
    assert home_selects(large, engine) == few
