"""Fixtures: an in-memory sink, a fake Healthie, and a loopback HTTP server with both webhooks."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from bot.clock import FixedClock, SystemClock
from bot.platform.events import PlatformEvent, SinkResult
from bot.platform.generic import handle_generic
from bot.platform.healthie import handle_healthie
from bot.platform.healthie_api import HealthieClient
from bot.platform.wsgi import WsgiApp, platform_wsgi_app
from tests.fakes.healthie import API_KEY, FakeHealthie, HealthieWebhookSender

GENERIC_SECRET = "generic-test-secret"
HEALTHIE_SECRET = "whsec_test-healthie-secret"
BUSINESS_NOW = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
CLIENT = "4242"  # a Healthie patient user id, which is also the chart id
CLINICIAN = "77"  # the clinician's Healthie provider id
DISCHARGED_GROUP = "Discharged Clients"


@dataclass
class MemorySink:
    """The EventSink contract over a dict: event_id de-duplication, known clients only."""

    known_clients: set[str] = field(default_factory=lambda: {CLIENT})
    applied: list[PlatformEvent] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: PlatformEvent, /) -> SinkResult:
        with self._lock:
            self.calls += 1
            if event.client_id not in self.known_clients:
                return SinkResult.UNKNOWN_CLIENT
            if event.event_id in self.seen_ids:
                return SinkResult.DUPLICATE
            self.seen_ids.add(event.event_id)
            self.applied.append(event)
            return SinkResult.APPLIED


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class WebhookServer:
    url: str
    sink: MemorySink
    clock: FixedClock

    @property
    def generic_url(self) -> str:
        return f"{self.url}/platform/events"

    @property
    def healthie_url(self) -> str:
        return f"{self.url}/platform/healthie"


@pytest.fixture
def fake_healthie() -> Iterator[FakeHealthie]:
    fake = FakeHealthie().start()
    fake.add_group("10", "Active Clients")
    fake.add_group("11", DISCHARGED_GROUP)
    fake.add_user(CLIENT, dietitian_id=CLINICIAN, other_provider_ids=["78", "79"],
                  user_group_id="10")
    fake.add_user(CLINICIAN, is_patient=False)
    fake.add_user("78", is_patient=False)
    yield fake
    fake.stop()


@pytest.fixture
def healthie_client(fake_healthie: FakeHealthie) -> HealthieClient:
    # Rate-limit back-off is counted, not slept, in these tests.
    return HealthieClient(fake_healthie.url, API_KEY, timeout=1.5, sleep=lambda _s: None)


def serve(app: WsgiApp) -> tuple[WSGIServer, str]:
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return server, f"http://{host!s}:{port}"


@pytest.fixture
def webhook_server(healthie_client: HealthieClient) -> Iterator[WebhookServer]:
    sink = MemorySink()
    clock = FixedClock(BUSINESS_NOW)
    app = platform_wsgi_app({
        "/platform/events": functools.partial(
            handle_generic, secret=GENERIC_SECRET, wall_clock=SystemClock(), sink=sink
        ),
        "/platform/healthie": functools.partial(
            handle_healthie, secret=HEALTHIE_SECRET, client=healthie_client, sink=sink,
            clock=clock, discharged_group_name=DISCHARGED_GROUP,
        ),
    })
    server, url = serve(app)
    yield WebhookServer(url, sink, clock)
    server.shutdown()
    server.server_close()


@pytest.fixture
def sender(webhook_server: WebhookServer) -> HealthieWebhookSender:
    return HealthieWebhookSender(HEALTHIE_SECRET, webhook_server.healthie_url)
