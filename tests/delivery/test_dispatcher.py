"""Outbox delivery against the fake Slack Web API: faults, pacing, dead letters, exactly once."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.clock import FixedClock, SystemClock
from bot.delivery.outbox import DeliveryPolicy, Dispatcher, SlackCall
from bot.delivery.slack_client import make_web_client
from bot.settings import Settings
from storage.models import OutboxMessage
from storage.repository import UnitOfWork
from tests.fakes.slack_api import (
    FakeSlackAPI,
    NotOk,
    Rate,
    ResetAfter,
    ResetBefore,
    ServerError,
)
from tests.helpers import delivered

FAST = DeliveryPolicy(backoff_base_seconds=0.02, backoff_cap_seconds=0.2, pace_seconds=0.05,
                      max_attempts=12, lease_seconds=30)


@pytest.fixture
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as api:
        yield api


def client_for(fake: FakeSlackAPI) -> WebClient:
    settings = Settings(_env_file=None, slack_api_url=fake.url, slack_bot_token="xoxb-test")
    return make_web_client(settings, timeout=5)


def seed(uow: UnitOfWork, count: int, clinicians: int, *, now: datetime) -> list[str]:
    keys = []
    with uow() as repo:
        for i in range(count):
            key = f"ep{i}:checkin-1:0"
            keys.append(key)
            repo.add(OutboxMessage(
                idempotency_key=key, kind="checkin", recipient_kind="clinician",
                recipient=f"U{i % clinicians:06d}", payload={"n": i}, status="pending",
                deliver_after=now, attempts=0, created_at=now,
            ))
    return keys


def text_of(row: OutboxMessage) -> SlackCall:
    return SlackCall("chat.postMessage", row.recipient or "", text=f"Check-in due ({row.idempotency_key})")


def test_every_prompt_arrives_exactly_once_through_twenty_percent_faults(
    fake: FakeSlackAPI, uow: UnitOfWork
) -> None:
    now = datetime.now(UTC)
    keys = seed(uow, 1000, 200, now=now)
    fake.faults("chat.postMessage", rate=0.2, seed=2026,
                kinds=[Rate(retry_after=1), ServerError(500), ResetBefore(), ResetAfter()])
    dispatcher = Dispatcher(uow, client_for(fake), text_of, clock=SystemClock(), policy=FAST)
    report = dispatcher.drain(timeout=120)
    assert report.dead == []
    assert delivered(fake) == Counter({key: 1 for key in keys})
    answers = Counter(call.answer for call in fake.calls("chat.postMessage"))
    assert answers["ResetAfter"] > 0
    assert answers["Rate"] > 0
    assert len(report.reconciled) >= answers["ResetAfter"]  # each lost answer was found, not re-sent
    with uow() as repo:
        statuses = Counter(repo.session.scalars(select(OutboxMessage.status)))
        assert statuses == Counter({"sent": 1000})
        assert all(row.ts for row in repo.session.scalars(select(OutboxMessage)))


def test_permanent_errors_are_dead_lettered_at_once_and_reported(
    fake: FakeSlackAPI, uow: UnitOfWork
) -> None:
    now = datetime.now(UTC)
    seed(uow, 2, 2, now=now)
    fake.script("chat.postMessage", NotOk("account_inactive"))
    reported: list[tuple[str, str]] = []
    dispatcher = Dispatcher(uow, client_for(fake), text_of, clock=SystemClock(), policy=FAST,
                            on_dead=lambda row, error: reported.append((row.idempotency_key, error)))
    report = dispatcher.drain(timeout=10)
    assert (len(report.sent), len(report.dead)) == (1, 1)
    assert reported == [("ep0:checkin-1:0", "account_inactive")]
    assert len(fake.calls("chat.postMessage")) == 2  # no retry of the hopeless one


def test_transient_errors_give_up_after_the_limit(fake: FakeSlackAPI, uow: UnitOfWork) -> None:
    seed(uow, 1, 1, now=datetime.now(UTC))
    fake.script("chat.postMessage", *[NotOk("internal_error")] * 3)
    policy = DeliveryPolicy(backoff_base_seconds=0.01, backoff_cap_seconds=0.05, max_attempts=3)
    dispatcher = Dispatcher(uow, client_for(fake), text_of, clock=SystemClock(), policy=policy)
    report = dispatcher.drain(timeout=10)
    assert len(report.dead) == 1
    with uow() as repo:
        [row] = repo.session.scalars(select(OutboxMessage))
        assert row.status == "dead"
        assert "gave up after 3 tries" in (row.last_error or "")


def test_rate_limit_waits_retry_after_without_spending_a_try(fake: FakeSlackAPI, uow: UnitOfWork) -> None:
    seed(uow, 1, 1, now=datetime.now(UTC))
    fake.script("chat.postMessage", Rate(retry_after=1))
    dispatcher = Dispatcher(uow, client_for(fake), text_of, clock=SystemClock(), policy=FAST)
    started = time.monotonic()
    report = dispatcher.drain(timeout=10)
    assert len(report.sent) == 1
    assert time.monotonic() - started >= 1.0
    first, second = fake.calls("chat.postMessage")
    assert second.at - first.at >= 1.0
    with uow() as repo:
        assert repo.session.scalar(select(OutboxMessage.attempts)) == 1


def test_posts_to_one_channel_are_paced(fake: FakeSlackAPI, uow: UnitOfWork) -> None:
    seed(uow, 4, 1, now=datetime.now(UTC))
    policy = DeliveryPolicy(pace_seconds=0.3)
    Dispatcher(uow, client_for(fake), text_of, clock=SystemClock(), policy=policy).drain(timeout=10)
    times = [c.at for c in fake.calls("chat.postMessage")]
    assert len(times) == 4
    assert all(b - a >= 0.28 for a, b in itertools.pairwise(times))


def test_rows_not_yet_due_wait_for_their_time(fake: FakeSlackAPI, uow: UnitOfWork) -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)
    seed(uow, 1, 1, now=later)
    report = Dispatcher(uow, client_for(fake), text_of, clock=FixedClock(datetime(2029, 12, 31, tzinfo=UTC))).run_once()
    assert report.claimed == 0
    report = Dispatcher(uow, client_for(fake), text_of, clock=FixedClock(later)).run_once()
    assert len(report.sent) == 1


def test_outbox_command_lists_dead_letters_and_requeues_one(
    fake: FakeSlackAPI, uow: UnitOfWork, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.entrypoints.cli import main

    seed(uow, 1, 1, now=datetime.now(UTC))
    fake.script("chat.postMessage", NotOk("channel_not_found"))
    Dispatcher(uow, client_for(fake), text_of, clock=SystemClock(), policy=FAST).drain(timeout=5)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["outbox", "--dead"]) == 0
    listing = capsys.readouterr().out
    assert "channel_not_found" in listing
    assert "ep0:checkin-1:0" in listing
    with uow() as repo:
        row_id = repo.session.scalar(select(OutboxMessage.id))
    assert main(["outbox", "retry", str(row_id)]) == 0
    assert main(["outbox", "retry", str(row_id)]) == 2  # it is pending now, not dead
    assert "only dead or skipped ones" in capsys.readouterr().err
    report = Dispatcher(uow, client_for(fake), text_of, clock=SystemClock(), policy=FAST).drain(timeout=5)
    assert len(report.sent) == 1
    assert sum(delivered(fake).values()) == 1


def test_the_engine_knows_the_surfaces_in_place_update_kind() -> None:
    from bot.delivery.outbox import UPDATE_KIND
    from bot.services.readmodels import OutboxKind

    assert OutboxKind.MESSAGE_UPDATE.value == UPDATE_KIND  # updates are never paced
