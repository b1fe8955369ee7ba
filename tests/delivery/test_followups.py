"""A click's follow-ups that cannot go at once (their channel's pace) reach Slack within
seconds from the background, pacing honoured, instead of at the next scheduler pass."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from bot.clock import SystemClock
from bot.delivery.slack_client import make_web_client
from bot.services import build_services
from bot.settings import Settings
from bot.slack.dispatch import DELIVERY_FAILED, Dispatcher
from smart_phrases import PhraseLibrary
from storage.models import OutboxMessage
from storage.repository import UnitOfWork
from tests.fakes.slack_api import FakeSlackAPI

PACE = 0.5


@pytest.fixture
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as api:
        yield api


def dispatcher(
    uow: UnitOfWork, settings: Settings, phrases: PhraseLibrary, fake: FakeSlackAPI, *, on: bool
) -> Dispatcher:
    settings = settings.model_copy(
        update={
            "slack_api_url": fake.url,
            "slack_bot_token": SecretStr("xoxb-test"),
            "slack_pace_seconds": PACE,
            "followups_in_background": on,
        }
    )
    services = build_services(uow, SystemClock(), settings, phrases)
    return Dispatcher(services, make_web_client(settings, timeout=5))


def two_for_one_channel(uow: UnitOfWork) -> list[str]:
    now = datetime.now(UTC)
    keys = [f"fail:{i}" for i in range(2)]
    with uow() as repo:
        for i, key in enumerate(keys):
            repo.add(
                OutboxMessage(
                    idempotency_key=key, kind=DELIVERY_FAILED, recipient_kind="clinician",
                    recipient="U0CLIN1", payload={"text": f"note {i}"}, status="pending",
                    deliver_after=now, attempts=0, created_at=now,
                )
            )
    return keys


def posts(fake: FakeSlackAPI) -> list[tuple[str, float]]:
    return [(c.body.get("text"), c.at) for c in fake.calls("chat.postMessage")]


def test_a_follow_up_held_back_by_the_pace_arrives_within_two_seconds(
    uow: UnitOfWork, settings: Settings, phrases: PhraseLibrary, fake: FakeSlackAPI
) -> None:
    d = dispatcher(uow, settings, phrases, fake, on=True)
    keys = two_for_one_channel(uow)
    started = time.monotonic()
    report = d.deliver(keys)
    assert report.sent == [keys[0]]
    assert report.deferred == [keys[1]]
    fake.wait_for("chat.postMessage", 2, timeout=3)
    arrived = time.monotonic() - started
    (first, at_first), (second, at_second) = posts(fake)
    assert (first, second) == ("note 0", "note 1")
    assert at_second - at_first >= PACE * 0.9  # the channel's pace still holds
    assert arrived < 2.0
    d.stop()


def test_without_the_background_it_waits_for_the_scheduler(
    uow: UnitOfWork, settings: Settings, phrases: PhraseLibrary, fake: FakeSlackAPI
) -> None:
    d = dispatcher(uow, settings, phrases, fake, on=False)
    keys = two_for_one_channel(uow)
    assert d.deliver(keys).deferred == [keys[1]]
    time.sleep(PACE * 3)
    assert [text for text, _ in posts(fake)] == ["note 0"]
    assert d.deliver_due(timeout=5).sent == [keys[1]]  # the next pass says it
