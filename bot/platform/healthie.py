"""`POST /platform/healthie`: Healthie's signed, thin webhooks turned into platform events.

Healthie signs each webhook (docs.gethealthie.com/guides/webhooks, "Signed payloads"):

    Content-Digest: sha-256=<base64 SHA-256 of the body>   (RFC 9530 ``:…:`` form accepted)
    Signature:      sig1=<hex HMAC-SHA256(signature secret, data)>
    data = "{method lowercased} {path} {query} {content-digest value} application/json {length}"

where `path` is the path Healthie called — the externally visible one, so a proxy prefix
(HEALTHIE_WEBHOOK_PATH_PREFIX) is put back in front of ours. The docs do not pin down the
"content-digest value": Healthie's code sample takes the text between the first and second
``=`` (which drops base64 padding), other public integrations take everything after the
first ``=``. Each reading is tried (each still needs the secret). The body's digest is
checked separately against the bytes received. Healthie sends no timestamp, so there is no
replay window: idempotent event ids are the defence.

The payload only names a record (`resource_id`, `event_type`, `changed_fields`); the record is
fetched over GraphQL. Answers:

=====  ==========================================================================
200    turned into an event (``"duplicate": true`` when seen before), or ignored with
       ``"ignored": <why>`` — other event types, staff messages, clients not on the
       caseload. With retries switched on (they are opt-in per webhook:
       ``should_retry``), Healthie retries an error for up to 3 days and then disables
       the webhook, so what can never succeed must not be an error.
400    body is not JSON / not a Healthie payload
401    Signature or Content-Digest missing or wrong
405    not a POST
413    body over 64 KiB
500    the bot could not store the event (Healthie retries)
503    Healthie's API did not answer (error, HTTP error, timeout) or kept rate limiting
       our reads after bounded retries; Retry-After is set and Healthie retries
=====  ==========================================================================

Every derived `event_id` is a function of the fact, not of the delivery, so Healthie's
retries and its created/updated pairs about one appointment have one effect.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.clock import Clock
from bot.platform.events import (
    EARLIEST,
    MAX_BODY_BYTES,
    MAX_BOOKING_AHEAD,
    EventSink,
    HttpResponse,
    PlatformEvent,
    PlatformEventType,
    SinkResult,
    WebhookError,
    error_response,
    has_nul,
    json_response,
    lower_headers,
)
from bot.platform.generic import loggable_id
from bot.platform.healthie_api import (
    HealthieClient,
    PlatformRejected,
    PlatformThrottled,
    PlatformUnavailable,
)

log = logging.getLogger(__name__)

SIGNED_CONTENT_TYPE = "application/json"

# pm_status values (Appointment.pm_status) and what each means for the episode.
PM_STATUS_EVENTS = {
    "Occurred": PlatformEventType.SESSION_ATTENDED,
    "No-Show": PlatformEventType.SESSION_NO_SHOW,
    "Cancelled": PlatformEventType.SESSION_CANCELLED,
    "Late Cancellation": PlatformEventType.SESSION_CANCELLED,
}
# Healthie's appointments guide: an appointment is not active when Cancelled, Re-Scheduled or
# No-Show. A Re-Scheduled appointment is neither a booking at its (old) date nor a miss; the
# new time is booked as an appointment of its own and arrives as appointment.created.
RESCHEDULED = "Re-Scheduled"
APPOINTMENT_EVENTS = frozenset(
    {"appointment.created", "appointment.updated", "appointment.deleted"}
)
# A note signed or locked in the chart: checklist step 2 may now be done.
NOTE_SIGNED_EVENTS = frozenset({"form_answer_group.locked", "form_answer_group.signed"})
#: Event types named in our log lines; any other value a sender puts there is not echoed.
KNOWN_EVENT_TYPES = APPOINTMENT_EVENTS | {"message.created", "patient.updated"}


@dataclass(frozen=True, slots=True)
class Ignored:
    """A valid webhook that means nothing for the discharge workflow."""

    reason: str


# --- signature ------------------------------------------------------------------------------


def healthie_signed_data(
    method: str, path: str, query: str, digest_value: str, content_length: int
) -> str:
    return f"{method.lower()} {path} {query} {digest_value} {SIGNED_CONTENT_TYPE} {content_length}"


def sign_healthie(secret: str, data: str) -> str:
    return hmac.new(secret.encode(), data.encode(), hashlib.sha256).hexdigest()


def verify_healthie_signature(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
) -> None:
    """Raise WebhookError(401) unless Content-Digest matches the body and Signature matches."""
    lowered = lower_headers(headers)
    digest_header = lowered.get("content-digest", "").strip()
    signature_header = lowered.get("signature", "").strip()
    if not digest_header or not signature_header:
        raise WebhookError(401, "missing Content-Digest or Signature header")

    digest_entry = _sha256_entry(digest_header)
    if digest_entry is None:
        raise WebhookError(401, "Content-Digest has no sha-256 value")
    declared = _decode_digest(digest_entry)
    if declared is None or not hmac.compare_digest(declared, hashlib.sha256(body).digest()):
        raise WebhookError(401, "Content-Digest does not match the body")

    given = _signature_values(signature_header)
    if not given:
        raise WebhookError(401, "Signature header has no value")
    after_first_eq = digest_entry
    readings = {
        after_first_eq,  # everything after "sha-256="
        after_first_eq.strip(":"),  # the bare base64
        after_first_eq.split("=")[0],  # Healthie's JS sample: header.split('=')[1]
    }
    for reading in readings:
        data = healthie_signed_data(method, path, query, reading, len(body))
        expected = hmac.new(secret.encode(), data.encode(), hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return
    raise WebhookError(401, "bad signature")


def _sha256_entry(header: str) -> str | None:
    """The value after ``sha-256=`` in a (possibly multi-algorithm) Content-Digest."""
    for entry in header.split(","):
        name, sep, value = entry.strip().partition("=")
        if sep and name.strip().lower() == "sha-256":
            return value.strip()
    return None


def _decode_digest(value: str) -> bytes | None:
    text = value.strip().strip(":")
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _signature_values(header: str) -> list[bytes]:
    """``sig1=<hex>`` (as Healthie sends) or ``sig1=:<base64>:`` (RFC 9421) -> raw bytes."""
    values: list[bytes] = []
    for entry in header.split(","):
        _label, sep, value = entry.strip().partition("=")
        raw = value.strip() if sep else entry.strip()
        try:
            if raw.startswith(":") and raw.endswith(":") and len(raw) > 2:
                values.append(base64.b64decode(raw.strip(":"), validate=True))
            elif raw:
                values.append(bytes.fromhex(raw))
        except (binascii.Error, ValueError):
            continue
    return values


# --- mapping records to events ---------------------------------------------------------------


def appointment_event(
    client: HealthieClient, appointment_id: str, event_type: str, clock: Clock
) -> PlatformEvent | Ignored:
    appointment = client.get_appointment(appointment_id)
    if appointment is None:
        return Ignored("appointment not found")
    if appointment.client_id is None:
        return Ignored("appointment has no single client (group or blocker)")
    if appointment.date is None:
        return Ignored("appointment has no date")
    now = clock.now()
    if appointment.date < EARLIEST or appointment.date > now + MAX_BOOKING_AHEAD:
        return Ignored("appointment date outside the usable range")
    in_future = appointment.date > now
    cancellation: str | None = None

    if event_type == "appointment.deleted" or appointment.deleted_at is not None:
        if not in_future:
            return Ignored("past appointment deleted (record clean-up, not a cancellation)")
        kind = PlatformEventType.SESSION_CANCELLED
        cancellation = "deleted"  # the booking is gone, but it is not the client's miss
        occurred_at = appointment.deleted_at or appointment.updated_at or now
    elif appointment.pm_status == RESCHEDULED:
        # Not a booking at this date and not a miss: it releases the booking at the old date
        # (the new time arrives as its own appointment).
        kind = PlatformEventType.SESSION_CANCELLED
        cancellation = "rescheduled"
        occurred_at = appointment.pm_status_changed_at or appointment.updated_at or now
    elif appointment.pm_status:
        mapped = PM_STATUS_EVENTS.get(appointment.pm_status)
        if mapped is None:
            return Ignored("appointment status not tracked")
        kind = mapped
        if kind in (PlatformEventType.SESSION_ATTENDED, PlatformEventType.SESSION_NO_SHOW):
            occurred_at = appointment.date
        else:
            occurred_at = (
                appointment.pm_status_changed_at or appointment.updated_at or appointment.date
            )
    elif in_future:
        kind = PlatformEventType.SESSION_SCHEDULED
        occurred_at = appointment.created_at or appointment.updated_at or now
    else:
        return Ignored("past appointment without a status")

    return PlatformEvent(
        # One appointment has one outcome per date: retries, created/updated pairs and
        # unrelated edits map to the same id; a move to a new date is a new fact.
        event_id=f"healthie:appointment:{appointment.id}:{kind.value}:"
        f"{appointment.date.isoformat()}",
        type=kind,
        client_id=appointment.client_id,
        occurred_at=occurred_at,
        session_at=appointment.date,
        source="healthie",
        provider_id=appointment.provider_id,
        cancellation=cancellation,
    )


def message_event(client: HealthieClient, note_id: str) -> PlatformEvent | Ignored:
    note = client.get_note(note_id)
    if note is None:
        return Ignored("message not found")
    if note.is_autoresponse:
        return Ignored("automatic reply")
    if not note.creator_is_patient or note.creator_id is None:
        # Staff messages and the bot's own check-ins (sent by the API key's staff account).
        return Ignored("message not from a client")
    if note.created_at is None:
        return Ignored("message has no time")
    return PlatformEvent(
        event_id=f"healthie:message:{note.id}",
        type=PlatformEventType.CLIENT_MESSAGE,
        client_id=note.creator_id,
        occurred_at=note.created_at,
        source="healthie",
        text_present=note.has_text,
    )


def note_signed_event(
    client: HealthieClient, note_id: str, event_type: str, clock: Clock
) -> PlatformEvent | Ignored:
    client_id = client.charting_note_client(note_id)
    if client_id is None:
        return Ignored("note not found")
    return PlatformEvent(
        event_id=f"healthie:{event_type}:{note_id}",
        type=PlatformEventType.CHART_NOTE_SIGNED,
        client_id=client_id,
        occurred_at=clock.now(),
        source="healthie",
    )


def group_event(
    client: HealthieClient,
    user_id: str,
    changed_fields: list[str],
    discharged_group: str,
    clock: Clock,
) -> PlatformEvent | Ignored:
    if "user_group_id" not in changed_fields:
        return Ignored("no group change")
    user = client.get_user(user_id)
    if user is None:
        return Ignored("client not found")
    if user.user_group_name != discharged_group or user.user_group_id is None:
        return Ignored("not moved to the discharged group")
    changed_at = user.updated_at or clock.now()
    return PlatformEvent(
        event_id=f"healthie:discharged_group:{user.id}:{user.user_group_id}:"
        f"{changed_at.isoformat()}",
        type=PlatformEventType.CLIENT_DISCHARGED_GROUP,
        client_id=user.id,
        occurred_at=changed_at,
        source="healthie",
    )


def event_from_payload(
    payload: Mapping[str, Any],
    *,
    client: HealthieClient,
    clock: Clock,
    discharged_group_name: str,
) -> PlatformEvent | Ignored:
    """Fetch the record a thin payload names and map it; raises PlatformUnavailable."""
    event_type = str(payload["event_type"])
    resource_id = str(payload["resource_id"])
    if event_type in APPOINTMENT_EVENTS:
        return appointment_event(client, resource_id, event_type, clock)
    if event_type == "message.created":
        return message_event(client, resource_id)
    if event_type in NOTE_SIGNED_EVENTS:
        return note_signed_event(client, resource_id, event_type, clock)
    if event_type == "patient.updated":
        changed = [str(f) for f in payload.get("changed_fields") or []]
        return group_event(client, resource_id, changed, discharged_group_name, clock)
    return Ignored("event type not used")


# --- the handler ----------------------------------------------------------------------------


def handle_healthie(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    client: HealthieClient,
    sink: EventSink,
    clock: Clock,
    discharged_group_name: str,
    path_prefix: str = "",
) -> HttpResponse:
    """Answer one Healthie webhook; see the module docstring for the status table.

    `path` is the path this server saw; `path_prefix` is what a proxy in front strips
    (HEALTHIE_WEBHOOK_PATH_PREFIX), since Healthie signs the URL it called. `clock` is the
    business clock, used only to tell a future booking from a past one.
    """
    event_type = "-"
    event: PlatformEvent | None = None
    try:
        if method.upper() != "POST":
            raise WebhookError(405, "only POST is accepted")
        if len(body) > MAX_BODY_BYTES:
            raise WebhookError(413, f"body over {MAX_BODY_BYTES} bytes")
        signed_path = path_prefix.rstrip("/") + path if path_prefix else path
        verify_healthie_signature(method, signed_path, query, headers, body, secret=secret)
        payload = _parse_payload(body)
        event_type = str(payload["event_type"])
        outcome = event_from_payload(
            payload, client=client, clock=clock, discharged_group_name=discharged_group_name
        )
        if isinstance(outcome, Ignored):
            _log(path, 200, f"ignored: {outcome.reason}", event_type, None)
            return json_response(200, {"ok": True, "ignored": outcome.reason})
        if _unusable(outcome):
            _log(path, 200, "ignored: unusable record (NUL in an id)", event_type, None)
            return json_response(200, {"ok": True, "ignored": "unusable record"})
        event = outcome
        result = sink(event)
    except WebhookError as refused:
        _log(path, refused.status, refused.reason, event_type, event)
        return error_response(refused)
    except PlatformThrottled as throttled:
        # Our reads were rate limited: answer so Healthie delivers the event again later.
        _log(path, 503, f"platform rate limited: {throttled}", event_type, event)
        response = json_response(503, {"ok": False, "error": "Healthie API rate limited; retry"})
        response[1].append(("Retry-After", str(int(max(throttled.retry_after or 0, 60)))))
        return response
    except PlatformUnavailable as unavailable:
        _log(path, 503, f"platform unavailable: {unavailable}", event_type, event)
        response = json_response(503, {"ok": False, "error": "Healthie API unavailable; retry"})
        response[1].append(("Retry-After", "60"))
        return response
    except PlatformRejected as rejected:
        _log(path, 200, f"ignored: unusable record ({rejected})", event_type, event)
        return json_response(200, {"ok": True, "ignored": "unusable record"})
    except Exception:
        log.error("platform webhook source=healthie path=%s status=500 failed", path, exc_info=True)
        return json_response(500, {"ok": False, "error": "internal error; retry later"})

    if result is SinkResult.UNKNOWN_CLIENT:
        _log(path, 200, "ignored: client not on the caseload", event_type, event)
        return json_response(200, {"ok": True, "ignored": "unknown client"})
    _log(path, 200, result.value, event_type, event)
    if result is SinkResult.DUPLICATE:
        return json_response(200, {"ok": True, "duplicate": True})
    return json_response(200, {"ok": True})


def _unusable(event: PlatformEvent) -> bool:
    ids = (event.event_id, event.client_id, event.provider_id or "")
    return any(has_nul(value) for value in ids)


def _parse_payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WebhookError(400, "body is not valid UTF-8 JSON") from None
    if not isinstance(payload, dict):
        raise WebhookError(400, "body must be a JSON object")
    for field in ("resource_id", "event_type"):
        value = payload.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise WebhookError(400, f"missing field: {field}")
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise WebhookError(400, f"{field} must be a string")
        if isinstance(value, str) and (has_nul(value) or len(value) > 200):
            raise WebhookError(400, f"{field} must be a short id without NUL characters")
        if isinstance(value, int) and not 0 <= value < 10**18:
            raise WebhookError(400, f"{field} is not a Healthie id")
    changed = payload.get("changed_fields")
    if changed is not None and not isinstance(changed, list):
        raise WebhookError(400, "changed_fields must be a list")
    return payload


def _log(
    path: str, status: int, outcome: str, event_type: str, event: PlatformEvent | None
) -> None:
    """One line per request: the Healthie event type and our event id, nothing clinical."""
    level = logging.INFO if status < 400 else logging.WARNING
    log.log(
        level,
        "platform webhook source=healthie path=%s status=%s outcome=%s healthie_event=%s "
        "event_id=%s type=%s",
        path,
        status,
        outcome,
        event_type if event_type in KNOWN_EVENT_TYPES else "other",
        loggable_id(event.event_id) if event else "-",
        event.type.value if event else "-",
    )
