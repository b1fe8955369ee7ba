"""On PostgreSQL several workers run the heads-up pass at once: each heads-up once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from bot.clock import FixedClock
from bot.services import build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_session_factory
from storage.models import Client, Clinician, Episode, EventRecord, HeadsUpRecord, OutboxMessage
from storage.repository import UnitOfWork
from tests.test_postgres_claims import pg_engine  # noqa: F401 - the fixture

pytestmark = [pytest.mark.postgres, pytest.mark.once]

CLIENTS = 300
AT = datetime(2026, 4, 6, 15, 5, tzinfo=UTC)  # a Monday, 11:05 in Toronto


def seed(uow: UnitOfWork) -> None:
    """Every client came four Mondays in a row, then missed two: all due for a heads-up."""
    start = AT - timedelta(days=35, minutes=5)
    with uow() as repo:
        s = repo.session
        s.execute(
            insert(Clinician),
            [{"id": c + 1, "slack_user_id": f"U0CLIN{c}", "created_at": start} for c in range(7)],
        )
        s.execute(
            insert(Client),
            [
                {
                    "id": i + 1,
                    "chart_id": f"R-{i}",
                    "clinician_id": i % 7 + 1,
                    "created_at": start,
                    "updated_at": start,
                }
                for i in range(CLIENTS)
            ],
        )
        s.execute(
            insert(Episode),
            [
                {
                    "id": i + 1,
                    "client_id": i + 1,
                    "opened_at": start,
                    "opened_reason": "imported",
                    "baseline_contact_at": start,
                    "booked_sessions": [],
                    "state": "active",
                    "checkins_sent": 0,
                    "updated_at": start,
                    "headsup_due_at": AT,
                }
                for i in range(CLIENTS)
            ],
        )
        s.execute(
            insert(EventRecord),
            [
                {
                    "client_id": i + 1,
                    "episode_id": i + 1,
                    "kind": "session_attended" if week < 4 else "session_no_show",
                    "occurred_at": start + timedelta(days=7 * week),
                    "recorded_at": start + timedelta(days=7 * week),
                    "actor": "platform",
                    "source": "platform",
                    "data": {},
                }
                for i in range(CLIENTS)
                for week in range(6)
            ],
        )


def test_three_workers_running_the_heads_up_pass_at_once_queue_each_once(
    pg_engine: Engine,  # noqa: F811
) -> None:
    settings = Settings(_env_file=None, database_url=str(pg_engine.url))
    uow = UnitOfWork(make_session_factory(pg_engine))
    seed(uow)
    phrases = PhraseLibrary.load()
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def worker() -> None:
        try:
            start.wait()
            services = build_services(uow, FixedClock(AT), settings, phrases)
            results.append(len(services.headsups.queue_due(AT)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(results) == CLIENTS
    with uow() as repo:
        keys = repo.session.scalars(
            select(OutboxMessage.idempotency_key).where(OutboxMessage.kind == "headsup")
        ).all()
        told = repo.session.scalar(select(func.count()).select_from(HeadsUpRecord))
        still_due = repo.session.scalar(
            select(func.count()).select_from(Episode).where(Episode.headsup_due_at.is_not(None))
        )
    assert len(keys) == len(set(keys)) == CLIENTS
    assert told == CLIENTS
    assert still_due == 0  # told: nothing more until the stretch changes
