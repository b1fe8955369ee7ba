"""Issue 9 at the platform doors: hostile or clumsy webhook input is refused with 400/401 and
a reason, never a 500 (which makes a platform retry for days)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.platform.generic import sign_generic
from tests.fakes.healthie import FakeHealthie, HealthieWebhookSender, post
from tests.platform.conftest import CLIENT, CLINICIAN, GENERIC_SECRET, WebhookServer
from tests.platform.test_generic_webhook import event_body, send


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    traced = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not traced, [r.getMessage() for r in traced]


@pytest.mark.parametrize(
    "timestamp",
    ["\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660".encode().decode("latin-1"), "²³", "1" * 5000, "1e10", "0x10"],
    ids=["arabic-digits", "superscripts", "5000-digits", "float", "hex"],
)
def test_a_timestamp_that_is_not_ascii_unix_seconds_gets_401(
    webhook_server: WebhookServer, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    caplog.set_level(logging.DEBUG)
    body = json.dumps(event_body()).encode()
    headers = {"Content-Type": "application/json", "X-Platform-Timestamp": timestamp,
               "X-Platform-Signature": sign_generic(GENERIC_SECRET, timestamp, body)}
    assert post(webhook_server.generic_url, body, headers).status == 401
    assert webhook_server.sink.calls == 0
    no_tracebacks(caplog)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"event_id": "e", "type": "session.no_show", "client_id": "4242", "occurred_at": '
         + b"9" * 5000 + b"}", "not valid UTF-8 JSON"),
        (event_body(occurred_at="0001-01-01T00:00:00+23:59"), "occurred_at"),
        (event_body(occurred_at="0001-01-01T00:00:00-23:59"), "before 2000"),
        (event_body(occurred_at="9999-12-31T23:59:59-23:59"), "occurred_at"),
        (event_body(occurred_at="9999-12-31T23:59:59+23:59"), "more than a day ahead"),
        (event_body(type="session.scheduled", session_at="9999-12-31T10:00:00Z"),
         "session_at is more than two years ahead"),
        (event_body(session_at="9999-12-31T10:00:00Z"), "session_at is more than a day ahead"),
        (event_body(occurred_at="1999-12-31T10:00:00Z"), "before 2000"),
        (event_body(client_id="42\x0042"), "client_id contains a NUL character"),
        (event_body(event_id="evt\x00"), "event_id contains a NUL character"),
        (event_body(provider_id="7\x00"), "provider_id must not contain NUL"),
        (b"[" * 100_00 + b"]" * 100_00, "not valid UTF-8 JSON"),
    ],
    ids=["5000-digit-int", "year-1-plus-offset", "year-1-minus-offset", "year-9999-minus",
         "year-9999-plus", "booking-in-9999", "session-at-9999", "before-2000", "nul-client",
         "nul-event-id", "nul-provider", "deep-nesting"],
)
def test_impossible_or_hostile_bodies_get_400_with_a_reason(
    webhook_server: WebhookServer, caplog: pytest.LogCaptureFixture, payload: Any, reason: str
) -> None:
    caplog.set_level(logging.DEBUG)
    reply = send(webhook_server, payload)
    assert reply.status == 400, reply.body
    assert reason in reply.body["error"]
    assert webhook_server.sink.calls == 0
    no_tracebacks(caplog)


@pytest.mark.parametrize(
    "date", [datetime(9999, 12, 31, 10, 0, tzinfo=UTC), datetime(1, 1, 1, 10, 0, tzinfo=UTC)],
    ids=["9999-12-31", "0001-01-01"],
)
@pytest.mark.parametrize("status", ["", "Occurred"])
def test_healthie_appointments_with_impossible_dates_are_acknowledged_as_unusable(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie,
    caplog: pytest.LogCaptureFixture, date: datetime, status: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_healthie.add_appointment("501", client_id=CLIENT, provider_id=CLINICIAN, date=date,
                                  pm_status=status or None)
    reply = sender.event("appointment.updated", "501", resource_type="Appointment")
    assert reply.status == 200
    assert "ignored" in reply.body
    assert webhook_server.sink.calls == 0
    no_tracebacks(caplog)
    assert any("ignored" in r.getMessage() for r in caplog.records)


def test_a_healthie_date_with_an_offset_past_the_calendar_is_unusable_not_a_500(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_healthie.add_appointment("502", client_id=CLIENT, provider_id=CLINICIAN,
                                  date=datetime(2025, 3, 1, tzinfo=UTC))
    fake_healthie.state.appointments["502"]["date"] = "0001-01-01T00:30:00+05:00"
    reply = sender.event("appointment.updated", "502", resource_type="Appointment")
    assert reply.status == 200
    assert reply.body.get("ignored")
    no_tracebacks(caplog)


@pytest.mark.parametrize("resource_id", ["5\x0001", "9" * 300, 10**30])
def test_a_healthie_payload_with_an_unusable_resource_id_is_refused(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, resource_id: Any
) -> None:
    reply = sender.send({"resource_id": resource_id, "event_type": "appointment.updated"})
    assert reply.status == 400
    assert webhook_server.sink.calls == 0


