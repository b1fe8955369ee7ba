"""`POST /platform/events`: the generic signed webhook any clinical platform can call.

The sender signs each request (the README has a copy-paste `curl`):

    X-Platform-Timestamp: <unix seconds>
    X-Platform-Signature: v1=<hex HMAC-SHA256(secret, "v1:{timestamp}:{raw body}")>

and posts JSON ``{"event_id", "type", "client_id", "occurred_at", ...}``.

Answers (JSON ``{"ok": ...}``):

=====  ==========================================================================
200    received (stored, and applied to the client's episode right after; a client's
       events are applied in the order they arrived), or ``"duplicate": true`` when this
       event_id was received before
400    body is not what DESIGN specifies; ``error`` says exactly what is wrong
401    signature missing or wrong, or timestamp more than 5 minutes from now
405    not a POST
413    body over 64 KiB (not read, not verified)
422    the client is not on the caseload (a 4xx, so senders do not retry it)
500    the bot could not store the event; the sender should retry
=====  ==========================================================================

Nothing reaches the sink unless the request is authentic and fully valid. The window is
checked against the real wall clock, never the business clock (DISCHARGE_CLOCK_START).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.platform.events import (
    MAX_BODY_BYTES,
    EventSink,
    HttpResponse,
    PlatformEvent,
    PlatformEventType,
    SinkResult,
    WebhookError,
    check_not_ahead,
    error_response,
    has_nul,
    json_response,
    lower_headers,
    parse_aware_datetime,
)

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "x-platform-timestamp"
SIGNATURE_HEADER = "x-platform-signature"
SIGNATURE_VERSION = "v1"
SIGNATURE_WINDOW = timedelta(minutes=5)
MAX_ID_LENGTH = 200
#: Who ended a cancelled session (optional; "client" when absent).
CANCELLATIONS = ("client", "provider", "deleted", "rescheduled")


def sign_generic(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The `X-Platform-Signature` value a sender must put on `body` at `timestamp`."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = f"{SIGNATURE_VERSION}:{timestamp}:".encode() + body
    return f"{SIGNATURE_VERSION}=" + hmac.new(key, message, hashlib.sha256).hexdigest()


def verify_generic_signature(
    headers: Mapping[str, str], body: bytes, *, secret: str | bytes, wall_clock: Clock
) -> None:
    """Raise WebhookError(401) unless the request is signed with `secret` within the window."""
    lowered = lower_headers(headers)
    timestamp = lowered.get(TIMESTAMP_HEADER, "").strip()
    given = lowered.get(SIGNATURE_HEADER, "").strip()
    if not timestamp or not given:
        raise WebhookError(401, "missing X-Platform-Timestamp or X-Platform-Signature")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise WebhookError(401, "X-Platform-Timestamp must be unix seconds")
    now = wall_clock.now().timestamp()
    if abs(now - int(timestamp)) > SIGNATURE_WINDOW.total_seconds():
        raise WebhookError(401, "stale timestamp (more than 5 minutes from the server's clock)")
    expected = sign_generic(secret, timestamp, body)
    # A sender rotating secrets may send several signatures, comma-separated.
    candidates = [part.strip() for part in given.split(",") if part.strip()]
    if not any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates):
        raise WebhookError(401, "bad signature")


def parse_generic_event(body: bytes, *, now: datetime | None = None) -> PlatformEvent:
    """Validate the JSON body against DESIGN's webhook format; 400 with a reason otherwise.

    `now` (the real wall clock) bounds the dates: a fact more than a day ahead, or a booking
    more than two years ahead, is refused; so is anything before 2000."""
    try:
        payload: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers of more than 4,300 digits.
        raise WebhookError(400, "body is not valid UTF-8 JSON") from None
    if not isinstance(payload, dict):
        raise WebhookError(400, "body must be a JSON object")

    event_id = _required_id(payload, "event_id")
    client_id = _required_id(payload, "client_id")
    raw_type = payload.get("type")
    if raw_type is None:
        raise WebhookError(400, "missing field: type")
    try:
        event_type = PlatformEventType(raw_type)
        if not event_type.generic:
            raise ValueError(raw_type)
    except ValueError:
        known = ", ".join(t.value for t in PlatformEventType if t.generic)
        # The sender's value is not repeated: it would land in our log as they wrote it.
        raise WebhookError(400, f"unknown type (known: {known})") from None
    if "occurred_at" not in payload:
        raise WebhookError(400, "missing field: occurred_at")
    occurred_at = parse_aware_datetime(payload["occurred_at"], "occurred_at")

    session_at = None
    if payload.get("session_at") is not None:
        if not event_type.is_session:
            raise WebhookError(400, "session_at is only for session.* events")
        session_at = parse_aware_datetime(payload["session_at"], "session_at")
    if event_type is PlatformEventType.SESSION_SCHEDULED and session_at is None:
        raise WebhookError(400, "session.scheduled needs session_at (the booked time)")
    if now is not None:
        check_not_ahead(occurred_at, "occurred_at", now, booking=False)
        if session_at is not None:
            booking = event_type is PlatformEventType.SESSION_SCHEDULED
            check_not_ahead(session_at, "session_at", now, booking=booking)

    text_present = payload.get("text_present", False)
    if not isinstance(text_present, bool):
        raise WebhookError(400, "text_present must be true or false")
    provider_id = payload.get("provider_id")
    if provider_id is not None and (not isinstance(provider_id, str) or not provider_id):
        raise WebhookError(400, "provider_id must be a non-empty string when given")
    if provider_id is not None and (has_nul(provider_id) or len(provider_id) > MAX_ID_LENGTH):
        raise WebhookError(400, "provider_id must not contain NUL characters or be that long")

    cancellation = payload.get("cancellation")
    if cancellation is not None:
        if event_type is not PlatformEventType.SESSION_CANCELLED:
            raise WebhookError(400, "cancellation is only for session.cancelled events")
        if cancellation not in CANCELLATIONS:
            known = ", ".join(CANCELLATIONS)
            raise WebhookError(400, f"cancellation must be one of: {known}")
    rescheduled_to = None
    if payload.get("rescheduled_to") is not None:
        if cancellation != "rescheduled":
            raise WebhookError(400, "rescheduled_to is only for a rescheduled cancellation")
        rescheduled_to = parse_aware_datetime(payload["rescheduled_to"], "rescheduled_to")
    return PlatformEvent(
        event_id=event_id,
        type=event_type,
        client_id=client_id,
        occurred_at=occurred_at,
        session_at=session_at,
        source="generic",
        text_present=text_present,
        provider_id=provider_id,
        cancellation=cancellation,
        rescheduled_to=rescheduled_to,
    )


def handle_generic(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str | bytes,
    wall_clock: Clock,
    sink: EventSink,
) -> HttpResponse:
    """Answer one generic webhook request; see the module docstring for the status table."""
    event: PlatformEvent | None = None
    try:
        if method.upper() != "POST":
            raise WebhookError(405, "only POST is accepted")
        if len(body) > MAX_BODY_BYTES:
            raise WebhookError(413, f"body over {MAX_BODY_BYTES} bytes")
        verify_generic_signature(headers, body, secret=secret, wall_clock=wall_clock)
        event = parse_generic_event(body, now=wall_clock.now())
        result = sink(event)
    except WebhookError as refused:
        _log(path, refused.status, refused.reason, event)
        return error_response(refused)
    except Exception:
        log.error(
            "platform webhook source=generic path=%s status=500 failed to store",
            path,
            exc_info=True,
        )
        return json_response(500, {"ok": False, "error": "internal error; retry later"})

    if result is SinkResult.UNKNOWN_CLIENT:
        _log(path, 422, "unknown client", event)
        return json_response(422, {"ok": False, "error": "unknown client"})
    duplicate = result is SinkResult.DUPLICATE
    _log(path, 200, result.value, event)
    return json_response(200, {"ok": True, "duplicate": True} if duplicate else {"ok": True})


def _required_id(payload: dict[str, Any], field: str) -> str:
    if field not in payload:
        raise WebhookError(400, f"missing field: {field}")
    value = payload[field]
    if not isinstance(value, str) or not value.strip():
        raise WebhookError(400, f"{field} must be a non-empty string")
    if len(value) > MAX_ID_LENGTH:
        raise WebhookError(400, f"{field} is longer than {MAX_ID_LENGTH} characters")
    if has_nul(value):
        raise WebhookError(400, f"{field} contains a NUL character")
    return value.strip()


def _log(path: str, status: int, outcome: str, event: PlatformEvent | None) -> None:
    """One line per request: no body, no client id, nothing clinical."""
    level = logging.INFO if status < 400 else logging.WARNING
    log.log(
        level,
        "platform webhook source=generic path=%s status=%s outcome=%s event_id=%s type=%s",
        path,
        status,
        outcome,
        loggable_id(event.event_id) if event else "-",
        event.type.value if event else "-",
    )


_LOGGABLE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


def loggable_id(value: str) -> str:
    """An id as the sender gave it when it looks like an id; else only its size."""
    return value if _LOGGABLE_ID.fullmatch(value) else f"(not an id, {len(value)} chars)"
