"""The generic signed webhook, over real HTTP: valid events, duplicates, and the bad-input table."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.platform.events import PlatformEvent, PlatformEventType, WebhookError
from bot.platform.generic import handle_generic, sign_generic
from tests.fakes.healthie import WebhookReply, post
from tests.platform.conftest import CLIENT, GENERIC_SECRET, MemorySink, WebhookServer

OCCURRED = "2025-03-03T14:00:00-05:00"


def event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": "evt-1",
        "type": "session.no_show",
        "client_id": CLIENT,
        "occurred_at": OCCURRED,
        "session_at": OCCURRED,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def send(
    server: WebhookServer,
    payload: dict[str, Any] | bytes,
    *,
    secret: str = GENERIC_SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
    omit_signature: bool = False,
) -> WebhookReply:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {"Content-Type": "application/json", "X-Platform-Timestamp": str(ts)}
    if not omit_signature:
        headers["X-Platform-Signature"] = signature or sign_generic(secret, ts, body)
    return post(server.generic_url, body, headers)


def test_signed_event_reaches_the_sink_as_a_typed_event(webhook_server: WebhookServer) -> None:
    reply = send(webhook_server, event_body(provider_id="77"))

    assert (reply.status, reply.body) == (200, {"ok": True})
    assert webhook_server.sink.applied == [
        PlatformEvent(
            event_id="evt-1",
            type=PlatformEventType.SESSION_NO_SHOW,
            client_id=CLIENT,
            occurred_at=datetime(2025, 3, 3, 19, 0, tzinfo=UTC),
            session_at=datetime(2025, 3, 3, 19, 0, tzinfo=UTC),
            source="generic",
            provider_id="77",
        )
    ]


@pytest.mark.parametrize("event_type", [t.value for t in PlatformEventType if t.generic])
def test_every_documented_type_is_accepted(
    webhook_server: WebhookServer, event_type: str
) -> None:
    is_session = event_type.startswith("session.")
    reply = send(webhook_server, event_body(
        event_id=f"evt-{event_type}", type=event_type,
        session_at=OCCURRED if is_session else None,
        text_present=True if event_type == "client.message" else None,
    ))

    assert reply.status == 200
    assert webhook_server.sink.applied[-1].type == event_type


def test_repeated_delivery_has_one_effect_and_says_duplicate(
    webhook_server: WebhookServer,
) -> None:
    first = send(webhook_server, event_body())
    again = send(webhook_server, event_body())

    assert first.body == {"ok": True}
    assert (again.status, again.body) == (200, {"ok": True, "duplicate": True})
    assert len(webhook_server.sink.applied) == 1


def test_z_suffix_and_offsets_are_stored_as_utc(webhook_server: WebhookServer) -> None:
    send(webhook_server, event_body(type="client.message", session_at=None,
                                    occurred_at="2025-03-03T19:00:00Z"))

    assert webhook_server.sink.applied[0].occurred_at == datetime(2025, 3, 3, 19, tzinfo=UTC)


BAD_INPUTS = [
    # name, how to send, status, error text
    ("bad signature", {"secret": "not-the-secret"}, 401, "bad signature"),
    ("missing signature", {"omit_signature": True}, 401, "missing X-Platform"),
    ("garbage signature", {"signature": "v1=zz"}, 401, "bad signature"),
    # seconds from the moment the request is sent (not from when the tests were collected)
    ("stale timestamp", {"timestamp_offset": -600}, 401, "stale timestamp"),
    ("future timestamp", {"timestamp_offset": 600}, 401, "stale timestamp"),
    ("unknown type", {"payload": event_body(type="session.teleported")}, 400, "unknown type"),
    ("Healthie-only type", {"payload": event_body(type="chart.note_signed")}, 400,
     "unknown type"),
    ("malformed JSON", {"payload": b'{"event_id": "evt-1",'}, 400, "not valid UTF-8 JSON"),
    ("JSON array", {"payload": b"[1, 2]"}, 400, "must be a JSON object"),
    ("missing event_id", {"payload": event_body(event_id=None)}, 400, "missing field: event_id"),
    ("missing client_id", {"payload": event_body(client_id=None)}, 400,
     "missing field: client_id"),
    ("empty client_id", {"payload": event_body(client_id="  ")}, 400, "non-empty string"),
    ("missing occurred_at", {"payload": event_body(occurred_at=None)}, 400,
     "missing field: occurred_at"),
    ("naive datetime", {"payload": event_body(occurred_at="2025-03-03T14:00:00")}, 400,
     "no time zone"),
    ("malformed datetime", {"payload": event_body(occurred_at="last tuesday")}, 400,
     "not a valid ISO 8601"),
    ("session_at on a message", {"payload": event_body(type="client.message")}, 400,
     "only for session.*"),
    ("scheduled without a date", {"payload": event_body(type="session.scheduled",
                                                        session_at=None)}, 400, "needs session_at"),
    ("oversized body", {"payload": json.dumps(event_body(padding="x" * 70_000)).encode()}, 413,
     "body over"),
    ("unknown client", {"payload": event_body(client_id="R-9999")}, 422, "unknown client"),
]


@pytest.mark.parametrize(("name", "how", "status", "error"), BAD_INPUTS,
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_refused_logged_and_nothing_stored(
    webhook_server: WebhookServer,
    caplog: pytest.LogCaptureFixture,
    name: str,
    how: dict[str, Any],
    status: int,
    error: str,
) -> None:
    options = dict(how)
    if "timestamp_offset" in options:
        options["timestamp"] = int(time.time()) + options.pop("timestamp_offset")
    payload = options.pop("payload", event_body())
    caplog.set_level(logging.INFO, logger="bot.platform")

    reply = send(webhook_server, payload, **options)

    assert reply.status == status, reply.body
    assert reply.body["ok"] is False
    assert error in reply.body["error"]
    assert webhook_server.sink.applied == []
    assert any(f"status={status}" in r.getMessage() for r in caplog.records), caplog.text
    # The webhook stays up: the next good request is applied.
    assert send(webhook_server, event_body(event_id="evt-after")).status == 200
    assert [e.event_id for e in webhook_server.sink.applied] == ["evt-after"]


def test_log_lines_carry_no_body_and_no_client_id(
    webhook_server: WebhookServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.platform")
    send(webhook_server, event_body(client_id="R-1042-SECRETIVE"))
    send(webhook_server, event_body(event_id="evt-2"))

    assert "R-1042-SECRETIVE" not in caplog.text
    assert CLIENT not in caplog.text
    assert "status=200" in caplog.text
    assert "event_id=evt-2" in caplog.text


def test_get_is_not_allowed(webhook_server: WebhookServer) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(webhook_server.generic_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    connection.request("GET", parts.path)
    assert connection.getresponse().status == 405
    connection.close()


def test_window_is_measured_on_the_wall_clock_passed_in() -> None:
    """A handler given a wall clock 10 minutes ahead refuses a 'now' timestamp as stale."""
    sink = MemorySink()
    body = json.dumps(event_body()).encode()
    ts = int(time.time())
    ahead = FixedClock(datetime.fromtimestamp(ts + 600, tz=UTC))
    headers = {"X-Platform-Timestamp": str(ts),
               "X-Platform-Signature": sign_generic(GENERIC_SECRET, ts, body)}

    status, _, reply = handle_generic("POST", "/platform/events", "", headers, body,
                                      secret=GENERIC_SECRET, wall_clock=ahead, sink=sink)

    assert status == 401
    assert b"stale" in reply
    assert sink.calls == 0


def test_sink_failure_answers_500_so_the_sender_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_sink(event: PlatformEvent) -> Any:
        raise RuntimeError("database is down")

    body = json.dumps(event_body()).encode()
    ts = int(time.time())
    headers = {"X-Platform-Timestamp": str(ts),
               "X-Platform-Signature": sign_generic(GENERIC_SECRET, ts, body)}
    status, _, reply = handle_generic("POST", "/platform/events", "", headers, body,
                                      secret=GENERIC_SECRET,
                                      wall_clock=FixedClock(datetime.fromtimestamp(ts, tz=UTC)),
                                      sink=broken_sink)

    assert status == 500
    assert json.loads(reply) == {"ok": False, "error": "internal error; retry later"}
    assert "status=500" in caplog.text


def test_chunked_upload_is_read_up_to_the_cap() -> None:
    import io

    from bot.platform.events import MAX_BODY_BYTES
    from bot.platform.wsgi import read_body

    small = {"wsgi.input": io.BytesIO(b"{}"), "wsgi.input_terminated": True}
    large = {"wsgi.input": io.BytesIO(b"x" * (MAX_BODY_BYTES + 10)),
             "wsgi.input_terminated": True}

    assert read_body(small) == b"{}"
    with pytest.raises(WebhookError) as refused:
        read_body(large)
    assert refused.value.status == 413


def test_a_cancellation_may_say_who_ended_it_and_where_a_reschedule_moved_to(
    webhook_server: WebhookServer,
) -> None:
    reply = send(
        webhook_server,
        event_body(
            type="session.cancelled",
            cancellation="rescheduled",
            rescheduled_to="2025-03-10T14:00:00-04:00",
        ),
    )
    assert reply.status == 200
    [event] = webhook_server.sink.applied
    assert event.cancellation == "rescheduled"
    assert event.rescheduled_to == datetime(2025, 3, 10, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"type": "session.cancelled", "cancellation": "weather"}, "cancellation must be one of"),
        ({"cancellation": "provider"}, "cancellation is only for session.cancelled"),
        (
            {"type": "session.cancelled", "rescheduled_to": "2025-03-10T14:00:00Z"},
            "rescheduled_to is only for a rescheduled cancellation",
        ),
    ],
)
def test_bad_cancellation_fields_are_refused_with_a_reason(
    webhook_server: WebhookServer, overrides: dict[str, Any], reason: str
) -> None:
    reply = send(webhook_server, event_body(**overrides))
    assert reply.status == 400
    assert reason in str(reply.body)
    assert webhook_server.sink.applied == []
