"""The one small event every platform adapter produces, and the sink contract it is handed to.

Adapters (the generic signed webhook, Healthie) turn whatever the platform sends into a
`PlatformEvent`; the application hands it to an `EventSink`, which records the effect and the
`event_id` in one transaction. De-duplication therefore lives in the sink (the database), not
here: adapters only promise that the same real-world fact always gets the same `event_id`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol

from bot.clock import ensure_utc

PlatformSource = Literal["generic", "healthie"]

#: What a webhook handler returns: status code, response headers, response body.
HttpResponse = tuple[int, list[tuple[str, str]], bytes]

#: The largest webhook body either handler accepts (64 KiB); bigger ones get 413 unread.
MAX_BODY_BYTES = 64 * 1024


class PlatformEventType(StrEnum):
    SESSION_ATTENDED = "session.attended"
    SESSION_CANCELLED = "session.cancelled"
    SESSION_NO_SHOW = "session.no_show"
    SESSION_SCHEDULED = "session.scheduled"
    CLIENT_MESSAGE = "client.message"
    CLIENT_DISCHARGED_GROUP = "client.discharged_group"
    # Healthie only (form_answer_group.locked/signed): a note in the chart was signed or
    # locked, so checklist step 2 is looked at again. Not part of the generic webhook.
    CHART_NOTE_SIGNED = "chart.note_signed"

    @property
    def generic(self) -> bool:
        """Types the generic webhook accepts (DESIGN's list)."""
        return self is not PlatformEventType.CHART_NOTE_SIGNED

    @property
    def is_session(self) -> bool:
        return self.value.startswith("session.")


@dataclass(frozen=True, slots=True)
class PlatformEvent:
    """A fact the clinical platform reported about one client.

    `occurred_at` is when the contact (or non-contact) happened: the session time for an
    attended session or a no-show, the moment of cancelling or booking, the message time.
    `session_at` is the session's own start time for `session.*` events (for
    `session.scheduled`, the booked future time). Both are timezone-aware UTC.
    `provider_id` is the platform id of the provider involved, when the platform says: a
    session with another provider of the practice is recorded but never moves the episode.
    No message text is ever carried: `text_present` only says the reply had words in it.
    """

    event_id: str
    type: PlatformEventType
    client_id: str
    occurred_at: datetime
    session_at: datetime | None = None
    source: PlatformSource = "generic"
    text_present: bool = False
    provider_id: str | None = None
    #: For `session.cancelled`: who ended it ("client", the default, "provider", "deleted" or
    #: "rescheduled"). Only the client's own cancellation counts as a missed session.
    cancellation: str | None = None
    rescheduled_to: datetime | None = None  # a rescheduled session's new time, when known

    def __post_init__(self) -> None:
        if not self.event_id or not self.client_id:
            raise ValueError("a platform event needs an event_id and a client_id")
        object.__setattr__(self, "type", PlatformEventType(self.type))
        object.__setattr__(self, "occurred_at", ensure_utc(self.occurred_at))
        if self.session_at is not None:
            object.__setattr__(self, "session_at", ensure_utc(self.session_at))


class SinkResult(StrEnum):
    """What the sink did with an event."""

    APPLIED = "applied"
    RECEIVED = "received"  # stored; applied right after by the inbound applier
    DUPLICATE = "duplicate"  # this event_id was applied before; nothing changed
    UNKNOWN_CLIENT = "unknown_client"  # no such client on the caseload; nothing stored


class EventSink(Protocol):
    """Takes one platform event and records its `event_id`, atomically.

    The implementation must store the event id in the same transaction as the effect (or,
    for `bot.platform.inbound.Inbox`, as the stored event that is applied right after), so a
    redelivered event answers DUPLICATE and has no second effect, and a crash in between
    leaves neither. It may raise on infrastructure failure (the webhook then answers 500 and
    the platform retries).
    """

    def __call__(self, event: PlatformEvent, /) -> SinkResult: ...


class WebhookError(Exception):
    """A request the webhook refuses; `reason` is safe to send back and to log (no PHI)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def json_response(status: int, payload: dict[str, object]) -> HttpResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body


def error_response(error: WebhookError) -> HttpResponse:
    return json_response(error.status, {"ok": False, "error": error.reason})


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header lookup that ignores case (HTTP header names are case-insensitive)."""
    return {str(name).lower(): str(value) for name, value in headers.items()}


def parse_aware_datetime(value: object, field: str) -> datetime:
    """ISO 8601 with an offset (or `Z`) -> aware UTC; a naive or malformed one is refused."""
    if not isinstance(value, str) or not value.strip():
        raise WebhookError(400, f"{field} must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise WebhookError(400, f"{field} is not a valid ISO 8601 date-time") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise WebhookError(400, f"{field} has no time zone offset (add Z or +00:00)")
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        raise WebhookError(400, f"{field} is outside the dates the bot can use") from None
    if instant < EARLIEST:
        raise WebhookError(400, f"{field} is before 2000; that cannot be a real event")
    return instant


#: Nothing the bot tracks happened before this; an earlier date is a typo or a forgery.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: How far ahead a fact may be dated (clock skew), and how far ahead a booking may be.
MAX_AHEAD = timedelta(days=1)
MAX_BOOKING_AHEAD = timedelta(days=2 * 366)


def check_not_ahead(value: datetime, field: str, now: datetime, *, booking: bool) -> None:
    """400 unless `value` is at most a day ahead of `now` (two years for a booking)."""
    limit = MAX_BOOKING_AHEAD if booking else MAX_AHEAD
    if value > now + limit:
        what = "two years" if booking else "a day"
        raise WebhookError(400, f"{field} is more than {what} ahead; that cannot be right")


def has_nul(text: str) -> bool:
    return "\x00" in text
