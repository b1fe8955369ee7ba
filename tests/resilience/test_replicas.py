"""Three worker processes tick and deliver at once over 10,000 due episodes on PostgreSQL:
every prompt is queued once and posted once. The total time is printed."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from storage.db import make_session_factory
from storage.models import EventRecord, OutboxMessage
from storage.repository import UnitOfWork
from tests.fakes.slack_api import FakeSlackAPI
from tests.resilience.conftest import bot_env, delivered, start_bot
from tests.seeding import seed_caseload
from tests.test_postgres_claims import pg_engine  # noqa: F401 - the fixture

MONDAY = datetime(2026, 3, 16, 14, 0, tzinfo=UTC)  # 10:00 in Toronto
EPISODES, CLINICIANS, WORKERS = 10_000, 2_000, 3

pytestmark = [pytest.mark.postgres, pytest.mark.once, pytest.mark.slow]


def test_three_replicas_tick_10000_due_episodes_and_post_each_prompt_once(
    pg_engine: Engine,  # noqa: F811
) -> None:
    uow = UnitOfWork(make_session_factory(pg_engine))
    seed_caseload(uow, size=EPISODES, due=EPISODES, clinicians=CLINICIANS, now=MONDAY)
    url = pg_engine.url.render_as_string(hide_password=False)
    with FakeSlackAPI() as fake:
        env = bot_env(
            url, fake, DISCHARGE_SLACK_PACE_SECONDS="0.01", DISCHARGE_OUTBOX_LEASE_SECONDS="120"
        )
        started = time.monotonic()
        workers = [start_bot("tick", "--now", MONDAY.isoformat(), env=env) for _ in range(WORKERS)]
        outputs = []
        for worker in workers:
            out, _ = worker.communicate(timeout=600)
            outputs.append(out.decode())
            assert worker.returncode == 0, out.decode()[-2000:]
        elapsed = time.monotonic() - started
        found = delivered(fake)

    with uow() as repo:
        statuses = Counter(
            dict(
                repo.session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                ).all()
            )
        )
        prompted = repo.session.scalar(
            select(func.count()).select_from(EventRecord).where(EventRecord.kind == "prompted")
        )
    queued_by = [int(o.split(" message(s) queued")[0].rsplit(" ", 1)[-1]) for o in outputs]
    print(
        f"\n{WORKERS} workers, {EPISODES} due episodes: {elapsed:.1f} s in all; "
        f"queued per worker {queued_by}"
    )
    assert sum(queued_by) == EPISODES
    assert all(q > 0 for q in queued_by)  # the work really was shared
    assert prompted == EPISODES
    assert statuses == Counter({"sent": EPISODES})
    assert len(found) == EPISODES
    assert set(found.values()) == {1}
