"""Workers killed at random points, restarted: every prompt in Slack exactly once.

The real `discharge-bot worker` runs in a child process against the fake Slack Web API and a
SQLite file, with its business clock set (DISCHARGE_CLOCK_START) to a Monday morning when all
the seeded clients' check-in 1 is due. It is SIGKILLed at random moments - before, during
and after posts, between Slack's answer and our commit - then started again.
"""

from __future__ import annotations

import random
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.delivery.outbox import METADATA_EVENT
from storage.db import make_engine, make_session_factory, migrate
from storage.models import OutboxMessage
from storage.repository import UnitOfWork
from tests.fakes.slack_api import Delay, FakeSlackAPI
from tests.resilience.conftest import bot_env, delivered, start_bot
from tests.seeding import seed_caseload

MONDAY = datetime(2026, 3, 16, 14, 0, tzinfo=UTC)  # 10:00 in Toronto
CLIENTS, CLINICIANS = 200, 40
KILLS = 20

pytestmark = [pytest.mark.slow, pytest.mark.once]


def outbox_counts(uow: UnitOfWork) -> dict[str, int]:
    with uow() as repo:
        rows = repo.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    return {status: count for status, count in rows}


def test_worker_killed_at_random_points_posts_every_prompt_exactly_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    engine = make_engine(url)
    migrate(engine)
    uow = UnitOfWork(make_session_factory(engine))
    seed_caseload(uow, size=CLIENTS, due=CLIENTS, clinicians=CLINICIANS, now=MONDAY)
    rng = random.Random(20261126)
    with FakeSlackAPI() as fake:
        # Slow answers widen the window between Slack taking a message and our commit.
        fake.faults("chat.postMessage", rate=0.3, kinds=[Delay(0.05)], seed=7)
        env = bot_env(
            url,
            fake,
            DISCHARGE_CLOCK_START=MONDAY.isoformat(),
            DISCHARGE_TICK_SECONDS="1",
            DISCHARGE_OUTBOX_LEASE_SECONDS="1",
            DISCHARGE_SLACK_PACE_SECONDS="0.02",
        )
        logs = []
        for _ in range(KILLS):
            worker = start_bot("worker", env=env)
            time.sleep(rng.uniform(1.5, 4.0))  # start-up takes ~1.5-2 s; die anywhere after
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            logs.append(worker.stdout.read().decode() if worker.stdout else "")
        posted_while_crashing = sum(delivered(fake).values())

        worker = start_bot("worker", env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            counts = outbox_counts(uow)
            if counts.get("sent") == CLIENTS and sum(counts.values()) == CLIENTS:
                break
            time.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert worker.wait(timeout=15) == 0
        logs.append(worker.stdout.read().decode() if worker.stdout else "")
        assert time.monotonic() - started < 10  # SIGTERM: out within 10 s

        # how often a restarted worker found its predecessor's post already in Slack
        reconciled = sum(log.count("was already in Slack") for log in logs)
        print(
            f"\n{KILLS} kills, {posted_while_crashing} posts before the last start, "
            f"{reconciled} found in Slack instead of posted again"
        )
        found = delivered(fake)
        assert posted_while_crashing > 0  # the kills really hit a working dispatcher
        assert sum(found.values()) == CLIENTS
        assert set(found.values()) == {1}
        assert outbox_counts(uow) == {"sent": CLIENTS}
        for channel in fake.channels():
            for message in fake.messages(channel):
                assert (message.get("metadata") or {}).get("event_type") == METADATA_EVENT
    engine.dispose()
