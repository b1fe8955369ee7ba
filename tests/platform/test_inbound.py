"""Webhook events are acknowledged once stored and applied right after: once, in order,
also across a restart; a refused request stores nothing."""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select, text

from bot.clock import FixedClock
from bot.domain.model import State
from bot.entrypoints.bootstrap import Runtime, build_runtime
from bot.entrypoints.http import ServerThread, create_wsgi_app
from bot.entrypoints.scheduler import Scheduler
from bot.entrypoints.web import platform_routes
from bot.platform.events import PlatformEvent, SinkResult
from bot.platform.generic import sign_generic
from bot.platform.inbound import InboundApplier
from bot.platform.sink import ServiceSink
from bot.services.types import Actor, Source
from bot.settings import Settings
from storage.models import InboundEvent, ProcessedDelivery
from tests.helpers import import_rows

SECRET = "inbound-test-secret"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 in Toronto
CLINICIAN = Actor("U0CLIN1", Source.SLACK)


@dataclass
class Bot:
    runtime: Runtime
    clock: FixedClock
    url: str

    @property
    def applier(self) -> InboundApplier:
        assert self.runtime.inbound is not None
        return self.runtime.inbound

    def post(self, payload: dict[str, object], *, secret: str = SECRET) -> tuple[int, dict]:
        return post(self.url, payload, secret=secret)

    def count(self, model: type, **where: object) -> int:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        with self.runtime.uow() as repo:
            return int(repo.session.scalar(query) or 0)

    def kinds(self, chart_id: str) -> list[str]:
        with self.runtime.uow() as repo:
            client = repo.client_by_chart_id(chart_id)
            assert client is not None
            return [r.kind for r in repo.events_of_client(client.id) if r.source == "platform"]

    def state(self, chart_id: str = "R-1") -> State:
        return self.runtime.services.recording.current_state(chart_id, actor=CLINICIAN)


def post(url: str, payload: dict[str, object], *, secret: str = SECRET) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/platform/events",
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Platform-Timestamp": stamp,
                "X-Platform-Signature": sign_generic(secret, stamp, body),
            },
        )
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        connection.close()


def settings_for(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        cct_channel_id="C0CCT",
        platform_webhook_secret=SecretStr(SECRET),
    )


@pytest.fixture
def bot(database_url: str) -> Iterator[Bot]:
    clock = FixedClock(START + timedelta(days=7))
    runtime = build_runtime(settings_for(database_url), clock=clock)
    import_rows(
        runtime.services,
        "R-1,U0CLIN1,Alex,2026-03-02T10:00,,America/Toronto",
        "R-2,U0CLIN1,Sam,2026-03-02T10:00,,America/Toronto",
    )
    front = create_wsgi_app(slack_app=None, routes=platform_routes(runtime, None))
    with ServerThread(front, threads=8) as server:
        yield Bot(runtime, clock, server.url)
    runtime.close()


def no_show(event_id: str, day: int, chart_id: str = "R-1") -> dict[str, object]:
    at = datetime(2026, 3, day, 15, 0, tzinfo=UTC)
    return {
        "event_id": event_id,
        "type": "session.no_show",
        "client_id": chart_id,
        "occurred_at": at.isoformat(),
    }


def test_an_event_is_acknowledged_once_stored_and_applied_right_after(bot: Bot) -> None:
    assert bot.post(no_show("e1", 4)) == (200, {"ok": True})
    assert bot.count(InboundEvent) == 1
    assert bot.kinds("R-1") == []  # acknowledged; nothing applied yet (no applier thread here)
    assert bot.applier.drain().applied == 1
    assert bot.kinds("R-1") == ["session_no_show"]
    with bot.runtime.uow() as repo:
        [row] = repo.session.scalars(select(InboundEvent)).all()
    assert (row.outcome, row.applied_at) == ("applied", bot.clock.now())


def test_concurrent_deliveries_of_one_event_are_stored_and_applied_once(bot: Bot) -> None:
    replies: list[tuple[int, dict]] = []
    lock = threading.Lock()
    gate = threading.Barrier(12)

    def deliver() -> None:
        gate.wait()
        reply = bot.post(no_show("same", 4))
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=deliver) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(replies, key=str) == sorted(
        [(200, {"ok": True})] + [(200, {"ok": True, "duplicate": True})] * 11, key=str
    )
    bot.applier.drain()
    assert bot.post(no_show("same", 4)) == (200, {"ok": True, "duplicate": True})
    bot.applier.drain()
    assert bot.count(InboundEvent) == 1
    assert bot.count(ProcessedDelivery, delivery_id="same") == 1
    assert bot.kinds("R-1") == ["session_no_show"]


def test_a_bad_signature_is_refused_and_changes_nothing(bot: Bot) -> None:
    assert bot.post(no_show("forged", 4), secret="not-the-secret")[0] == 401
    assert bot.applier.drain().applied == 0
    assert bot.count(InboundEvent) == 0
    assert bot.count(ProcessedDelivery) == 0
    assert bot.kinds("R-1") == []
    # The real sender's delivery of that id is still new.
    assert bot.post(no_show("forged", 4)) == (200, {"ok": True})


def test_an_unknown_client_is_refused_and_nothing_is_stored(bot: Bot) -> None:
    status, body = bot.post(no_show("e1", 4, chart_id="R-404"))
    assert (status, body["error"]) == (422, "unknown client")
    assert bot.count(InboundEvent) == 0


def test_a_clients_events_are_applied_in_the_order_received(bot: Bot) -> None:
    # Three no-shows open outreach, then an attended session (reported last) closes it.
    for n, day in enumerate((4, 5, 6), start=1):
        assert bot.post(no_show(f"m{n}", day))[0] == 200
    attended = {**no_show("a1", 8), "type": "session.attended"}
    assert bot.post(attended)[0] == 200
    assert bot.post(no_show("other", 5, chart_id="R-2"))[0] == 200
    bot.applier.drain()
    assert bot.kinds("R-1") == ["session_no_show"] * 3 + ["session_attended"]
    assert bot.state() is State.ACTIVE  # outreach opened and was ended by the session
    with bot.runtime.uow() as repo:
        actions = [
            e.action
            for e in reversed(repo.audit_entries(limit=50))
            if e.action.startswith("session_")
        ]
    assert actions == ["session_no_show"] * 3 + ["session_attended", "session_no_show"]


def test_an_event_applied_but_not_marked_is_not_applied_again(bot: Bot) -> None:
    """A process that stopped between the effect's commit and the mark: the next applier
    meets the event again, and the claimed delivery id makes it a duplicate."""
    assert bot.post(no_show("e1", 4))[0] == 200
    event = PlatformEvent(
        event_id="e1",
        type="session.no_show",  # type: ignore[arg-type]
        client_id="R-1",
        occurred_at=datetime(2026, 3, 4, 15, 0, tzinfo=UTC),
    )
    assert ServiceSink(bot.runtime.services)(event) is SinkResult.APPLIED
    assert bot.applier.drain().applied == 1
    with bot.runtime.uow() as repo:
        [row] = repo.session.scalars(select(InboundEvent)).all()
    assert row.outcome == "duplicate"
    assert bot.kinds("R-1") == ["session_no_show"]


def test_events_left_by_a_stopped_process_are_applied_when_the_next_starts(
    bot: Bot, database_url: str
) -> None:
    for n, day in enumerate((4, 5, 6), start=1):
        assert bot.post(no_show(f"m{n}", day))[0] == 200
    bot.runtime.close()  # stopped before applying anything

    restarted = build_runtime(settings_for(database_url), clock=bot.clock)
    assert restarted.inbound is not None
    restarted.inbound.start()  # what `serve` does at start
    try:
        deadline = time.monotonic() + 30
        while bot.count(InboundEvent, applied_at=None) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        restarted.close()
    assert bot.count(InboundEvent, applied_at=None) == 0
    assert bot.kinds("R-1") == ["session_no_show"] * 3
    assert bot.state() is State.OUTREACH


def test_the_scheduler_tick_applies_what_waits(bot: Bot) -> None:
    assert bot.post(no_show("e1", 4))[0] == 200
    Scheduler(bot.runtime.services, None, inbound=bot.runtime.inbound).tick()
    assert bot.kinds("R-1") == ["session_no_show"]


class FailingOnce:
    """A sink that fails the first time it meets `event_id` (a database gone for a moment)."""

    def __init__(self, sink: ServiceSink, event_id: str) -> None:
        self.sink = sink
        self.event_id = event_id
        self.failed = False

    def __call__(self, event: PlatformEvent, /) -> SinkResult:
        if event.event_id == self.event_id and not self.failed:
            self.failed = True
            raise ConnectionError("the database went away")
        return self.sink(event)


def test_a_failed_event_is_tried_again_and_holds_back_only_its_clients_later_events(
    bot: Bot,
) -> None:
    applier = InboundApplier(
        bot.runtime.engine,
        FailingOnce(ServiceSink(bot.runtime.services), "m1"),
        bot.clock,
    )
    assert bot.post(no_show("m1", 4))[0] == 200
    assert bot.post(no_show("m2", 5))[0] == 200
    assert bot.post(no_show("other", 5, chart_id="R-2"))[0] == 200
    done = applier.drain()
    assert (done.applied, done.failed) == (1, 1)
    assert bot.kinds("R-1") == []  # m2 waits for m1
    assert bot.kinds("R-2") == ["session_no_show"]
    assert applier.drain().applied == 0  # not before its retry time
    bot.clock.advance(timedelta(seconds=3))
    assert applier.drain().applied == 2
    assert bot.kinds("R-1") == ["session_no_show"] * 2
    with bot.runtime.uow() as repo:
        rows = repo.session.scalars(select(InboundEvent).order_by(InboundEvent.id)).all()
    assert [(r.delivery_id, r.outcome, r.attempts) for r in rows] == [
        ("m1", "applied", 1),
        ("m2", "applied", 0),
        ("other", "applied", 0),
    ]


@contextmanager
def receipts_blocked(engine: Engine) -> Iterator[None]:
    """Another writer holds what storing an event needs, until the block ends."""
    if engine.dialect.name == "sqlite":
        assert engine.url.database
        other = sqlite3.connect(engine.url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the database's one write lock
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    with engine.connect() as other, other.begin():
        other.execute(text("LOCK TABLE inbound_events IN EXCLUSIVE MODE"))
        yield


def test_an_event_that_cannot_be_stored_in_time_is_a_5xx_and_its_retry_is_applied(
    database_url: str,
) -> None:
    clock = FixedClock(START + timedelta(days=7))
    settings = settings_for(database_url).model_copy(update={"write_budget_seconds": 0.3})
    runtime = build_runtime(settings, clock=clock)
    import_rows(runtime.services, "R-1,U0CLIN1,Alex,2026-03-02T10:00,,America/Toronto")
    front = create_wsgi_app(slack_app=None, routes=platform_routes(runtime, None))
    try:
        with ServerThread(front) as server:
            bot = Bot(runtime, clock, server.url)
            with receipts_blocked(runtime.engine):
                status, body = bot.post(no_show("e1", 4))
            assert (status, body["ok"]) == (500, False)
            bot.applier.drain()
            assert bot.count(InboundEvent) == 0  # nothing kept: the platform's retry is new
            assert bot.post(no_show("e1", 4)) == (200, {"ok": True})
            bot.applier.drain()
            assert bot.kinds("R-1") == ["session_no_show"]
    finally:
        runtime.close()
