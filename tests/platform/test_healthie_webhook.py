"""Healthie webhooks over real HTTP, signed as Healthie signs them, records from the fake API."""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.platform.events import PlatformEvent, PlatformEventType
from bot.platform.healthie import handle_healthie
from bot.platform.healthie_api import HealthieClient
from bot.platform.wsgi import platform_wsgi_app
from tests.fakes.healthie import FakeHealthie, HealthieWebhookSender, content_digest
from tests.platform.conftest import (
    BUSINESS_NOW,
    CLIENT,
    CLINICIAN,
    DISCHARGED_GROUP,
    HEALTHIE_SECRET,
    MemorySink,
    WebhookServer,
    serve,
)

PAST = BUSINESS_NOW - timedelta(days=2)  # a session two days ago
FUTURE = BUSINESS_NOW + timedelta(days=5)  # a booking next week
STATUS_CHANGED = BUSINESS_NOW - timedelta(days=1)


def appointment_update(sender: HealthieWebhookSender, appointment_id: str = "501") -> Any:
    return sender.event("appointment.updated", appointment_id, resource_type="Appointment",
                        changed_fields=["pm_status"])


# --- appointments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pm_status", "expected", "occurred_at"),
    [
        ("Occurred", PlatformEventType.SESSION_ATTENDED, PAST),
        ("No-Show", PlatformEventType.SESSION_NO_SHOW, PAST),
        ("Cancelled", PlatformEventType.SESSION_CANCELLED, STATUS_CHANGED),
        ("Late Cancellation", PlatformEventType.SESSION_CANCELLED, STATUS_CHANGED),
    ],
)
def test_appointment_status_becomes_a_session_event(
    webhook_server: WebhookServer,
    sender: HealthieWebhookSender,
    fake_healthie: FakeHealthie,
    pm_status: str,
    expected: PlatformEventType,
    occurred_at: datetime,
) -> None:
    fake_healthie.add_appointment("501", client_id=CLIENT, provider_id=CLINICIAN, date=PAST,
                                  pm_status=pm_status, pm_status_changed_at=STATUS_CHANGED)

    reply = appointment_update(sender)

    assert (reply.status, reply.body) == (200, {"ok": True})
    assert webhook_server.sink.applied == [
        PlatformEvent(
            event_id=f"healthie:appointment:501:{expected.value}:{PAST.isoformat()}",
            type=expected,
            client_id=CLIENT,
            occurred_at=occurred_at,
            session_at=PAST,
            source="healthie",
            provider_id=CLINICIAN,
        )
    ]
    call = fake_healthie.calls_to("appointment")[0]
    assert call.operation == "DischargeBotAppointment"
    assert call.variables == {"id": "501"}


@pytest.mark.parametrize("when", [PAST, FUTURE])
def test_rescheduled_appointment_is_not_a_booking_at_its_old_date(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie,
    when: datetime,
) -> None:
    fake_healthie.add_appointment("502", client_id=CLIENT, provider_id=CLINICIAN, date=when,
                                  pm_status="Re-Scheduled", pm_status_changed_at=STATUS_CHANGED)

    reply = appointment_update(sender, "502")

    assert reply.status == 200
    # It releases the booking at the old date without counting as the client's miss.
    [event] = webhook_server.sink.applied
    assert (event.type, event.cancellation, event.session_at) == (
        PlatformEventType.SESSION_CANCELLED, "rescheduled", when)


def test_the_new_time_of_a_rescheduled_session_is_booked_by_its_own_appointment(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    fake_healthie.add_appointment("502", client_id=CLIENT, provider_id=CLINICIAN, date=PAST,
                                  pm_status="Re-Scheduled", pm_status_changed_at=STATUS_CHANGED)
    fake_healthie.add_appointment("503", client_id=CLIENT, provider_id=CLINICIAN, date=FUTURE,
                                  created_at=STATUS_CHANGED)

    appointment_update(sender, "502")
    sender.event("appointment.created", "503", resource_type="Appointment")

    released, booked = webhook_server.sink.applied
    assert (released.cancellation, released.session_at) == ("rescheduled", PAST)
    assert (booked.type, booked.session_at) == (PlatformEventType.SESSION_SCHEDULED, FUTURE)


def test_webhook_whose_reads_are_rate_limited_is_answered_so_healthie_retries(
    sender: HealthieWebhookSender, fake_healthie: FakeHealthie, webhook_server: WebhookServer,
) -> None:
    fake_healthie.add_appointment("501", client_id=CLIENT, provider_id=CLINICIAN, date=PAST,
                                  pm_status="No-Show")
    fake_healthie.fail_next("throttled", times=10)

    reply = appointment_update(sender)

    assert reply.status == 503
    assert reply.body == {"ok": False, "error": "Healthie API rate limited; retry"}
    assert webhook_server.sink.applied == []
    assert len(fake_healthie.calls_to("appointment")) == 3  # bounded retries, then 503


def test_future_booking_without_status_is_scheduled(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    booked_at = BUSINESS_NOW - timedelta(hours=1)
    fake_healthie.add_appointment("503", client_id=CLIENT, provider_id=CLINICIAN, date=FUTURE,
                                  created_at=booked_at)

    reply = sender.event("appointment.created", "503", resource_type="Appointment")

    assert reply.body == {"ok": True}
    [event] = webhook_server.sink.applied
    assert (event.type, event.session_at, event.occurred_at) == (
        PlatformEventType.SESSION_SCHEDULED, FUTURE, booked_at)


def test_created_then_updated_booking_has_one_effect(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    fake_healthie.add_appointment("503", client_id=CLIENT, provider_id=CLINICIAN, date=FUTURE)

    sender.event("appointment.created", "503", resource_type="Appointment")
    second = sender.event("appointment.updated", "503", resource_type="Appointment",
                          changed_fields=["notes"])

    assert second.body == {"ok": True, "duplicate": True}
    assert len(webhook_server.sink.applied) == 1


def test_repeated_delivery_of_one_no_show_has_one_effect(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    fake_healthie.add_appointment("501", client_id=CLIENT, provider_id=CLINICIAN, date=PAST,
                                  pm_status="No-Show")

    replies = [appointment_update(sender) for _ in range(3)]

    assert [r.body for r in replies] == [
        {"ok": True}, {"ok": True, "duplicate": True}, {"ok": True, "duplicate": True}]
    assert len(webhook_server.sink.applied) == 1


def test_deleted_future_appointment_releases_the_booking_but_is_not_the_clients_miss(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    deleted_at = BUSINESS_NOW - timedelta(minutes=5)
    fake_healthie.add_appointment("504", client_id=CLIENT, provider_id=CLINICIAN, date=FUTURE,
                                  deleted_at=deleted_at)

    assert sender.event("appointment.deleted", "504", resource_type="Appointment").status == 200

    [event] = webhook_server.sink.applied
    assert (event.type, event.occurred_at, event.session_at, event.cancellation) == (
        PlatformEventType.SESSION_CANCELLED, deleted_at, FUTURE, "deleted")
    assert fake_healthie.calls_to("appointment")[0].operation == "DischargeBotAppointment"


@pytest.mark.parametrize(
    ("setup", "event_type", "reason"),
    [
        ({"date": PAST, "deleted_at": BUSINESS_NOW}, "appointment.deleted", "past appointment"),
        ({"date": PAST}, "appointment.created", "past appointment without a status"),
        ({"date": PAST, "pm_status": "Checked-In"}, "appointment.updated", "status not tracked"),
        ({"date": FUTURE, "client_id": None}, "appointment.created", "no single client"),
    ],
    ids=["deleted past", "past without status", "checked-in", "group appointment"],
)
def test_appointments_that_say_nothing_about_the_client_are_ignored(
    webhook_server: WebhookServer,
    sender: HealthieWebhookSender,
    fake_healthie: FakeHealthie,
    setup: dict[str, Any],
    event_type: str,
    reason: str,
) -> None:
    options = {"client_id": CLIENT, "provider_id": CLINICIAN, **setup}
    fake_healthie.add_appointment("505", **options)

    reply = sender.event(event_type, "505", resource_type="Appointment")

    assert reply.status == 200
    assert reason in reply.body["ignored"]
    assert webhook_server.sink.calls == 0


# --- chat messages --------------------------------------------------------------------------


def test_client_chat_reply_is_a_client_message(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    sent_at = BUSINESS_NOW - timedelta(minutes=3)
    fake_healthie.add_conversation("900", owner_id=CLINICIAN, member_ids=[CLIENT])
    fake_healthie.add_note("601", conversation_id="900", creator_id=CLIENT,
                           content="<p>Sorry, things got busy. Can we meet?</p>",
                           created_at=sent_at)

    reply = sender.event("message.created", "601", resource_type="Note")

    assert reply.body == {"ok": True}
    assert webhook_server.sink.applied == [
        PlatformEvent(event_id="healthie:message:601", type=PlatformEventType.CLIENT_MESSAGE,
                      client_id=CLIENT, occurred_at=sent_at, source="healthie",
                      text_present=True)
    ]


@pytest.mark.parametrize(
    ("creator", "autoresponse"),
    [(CLINICIAN, False), ("service-account", False), (CLIENT, True)],
    ids=["staff message", "the bot's own check-in", "auto-response"],
)
def test_messages_not_written_by_the_client_are_ignored(
    webhook_server: WebhookServer,
    sender: HealthieWebhookSender,
    fake_healthie: FakeHealthie,
    creator: str,
    autoresponse: bool,
) -> None:
    fake_healthie.add_note("602", conversation_id="900", creator_id=creator,
                           content="<p>Checking in</p>", created_at=BUSINESS_NOW,
                           is_autoresponse=autoresponse)

    reply = sender.event("message.created", "602", resource_type="Note")

    assert reply.status == 200
    assert "ignored" in reply.body
    assert webhook_server.sink.calls == 0


def test_check_in_sent_by_the_bot_does_not_count_as_a_reply(
    webhook_server: WebhookServer,
    sender: HealthieWebhookSender,
    fake_healthie: FakeHealthie,
    healthie_client: HealthieClient,
) -> None:
    fake_healthie.add_conversation("900", owner_id=CLINICIAN, member_ids=[CLIENT])
    note_id = healthie_client.send_chat_message(CLIENT, CLINICIAN, "Hi, checking in.")

    reply = sender.event("message.created", note_id, resource_type="Note")

    assert reply.body == {"ok": True, "ignored": "message not from a client"}
    assert webhook_server.sink.applied == []


# --- group moves ----------------------------------------------------------------------------


def test_move_to_discharged_group_is_reported(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    moved_at = BUSINESS_NOW - timedelta(minutes=1)
    fake_healthie.set_group(CLIENT, "11", updated_at=moved_at)

    reply = sender.event("patient.updated", CLIENT, resource_type="User",
                         changed_fields=["user_group_id"])

    assert reply.body == {"ok": True}
    assert webhook_server.sink.applied == [
        PlatformEvent(
            event_id=f"healthie:discharged_group:{CLIENT}:11:{moved_at.isoformat()}",
            type=PlatformEventType.CLIENT_DISCHARGED_GROUP, client_id=CLIENT,
            occurred_at=moved_at, source="healthie")
    ]
    assert sender.event("patient.updated", CLIENT, resource_type="User",
                        changed_fields=["user_group_id"]).body["duplicate"] is True


def test_move_to_another_group_is_ignored(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    fake_healthie.add_group("12", "Discharged Clients (old)")
    fake_healthie.set_group(CLIENT, "12", updated_at=BUSINESS_NOW)

    reply = sender.event("patient.updated", CLIENT, resource_type="User",
                         changed_fields=["user_group_id"])

    assert reply.body == {"ok": True, "ignored": "not moved to the discharged group"}
    assert webhook_server.sink.calls == 0


def test_other_patient_changes_are_ignored_without_asking_healthie(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    reply = sender.event("patient.updated", CLIENT, resource_type="User",
                         changed_fields=["first_name", "email"])

    assert reply.body == {"ok": True, "ignored": "no group change"}
    assert fake_healthie.calls == []


# --- signature details ----------------------------------------------------------------------


@pytest.mark.parametrize("digest_style", ["rfc", "bare"])
def test_both_content_digest_shapes_are_accepted(
    webhook_server: WebhookServer,
    sender: HealthieWebhookSender,
    fake_healthie: FakeHealthie,
    digest_style: str,
) -> None:
    fake_healthie.add_appointment("501", client_id=CLIENT, provider_id=CLINICIAN, date=PAST,
                                  pm_status="Occurred")
    payload = {"resource_id": "501", "resource_id_type": "Appointment",
               "event_type": "appointment.updated", "changed_fields": ["pm_status"]}

    assert sender.send(payload, digest_style=digest_style).status == 200


def test_signature_as_healthies_code_sample_computes_it_is_accepted(
    webhook_server: WebhookServer, fake_healthie: FakeHealthie
) -> None:
    """Healthie's sample signs header.split('=')[1]: the digest up to its base64 padding."""
    from tests.fakes.healthie import healthie_signature, post

    fake_healthie.add_appointment("501", client_id=CLIENT, provider_id=CLINICIAN, date=PAST,
                                  pm_status="Occurred")
    body = json.dumps({"resource_id": "501", "resource_id_type": "Appointment",
                       "event_type": "appointment.updated"}).encode()
    digest = content_digest(body)
    sample_reading = digest.split("=")[1]
    signature = healthie_signature(HEALTHIE_SECRET, method="POST", path="/platform/healthie",
                                   query="", digest_value=sample_reading, length=len(body))

    reply = post(webhook_server.healthie_url, body, {
        "Content-Type": "application/json", "Content-Digest": digest, "Signature": signature})

    assert reply.status == 200, reply.body


def test_proxy_prefix_is_put_back_before_checking_the_signature(
    healthie_client: HealthieClient, fake_healthie: FakeHealthie
) -> None:
    fake_healthie.add_appointment("501", client_id=CLIENT, provider_id=CLINICIAN, date=PAST,
                                  pm_status="Occurred")
    results = {}
    for prefix in ("/ops", ""):
        sink = MemorySink()
        app = platform_wsgi_app({"/platform/healthie": functools.partial(
            handle_healthie, secret=HEALTHIE_SECRET, client=healthie_client, sink=sink,
            clock=FixedClock(BUSINESS_NOW), discharged_group_name=DISCHARGED_GROUP,
            path_prefix=prefix)})
        server, url = serve(app)
        try:
            # Healthie calls https://example.org/ops/platform/healthie; the proxy strips /ops.
            sender = HealthieWebhookSender(HEALTHIE_SECRET, f"{url}/platform/healthie",
                                           signed_path="/ops/platform/healthie")
            results[prefix] = appointment_update(sender).status
        finally:
            server.shutdown()
            server.server_close()

    assert results == {"/ops": 200, "": 401}


# --- the bad-input table ---------------------------------------------------------------------

GOOD_PAYLOAD = {"resource_id": "501", "resource_id_type": "Appointment",
                "event_type": "appointment.updated", "changed_fields": ["pm_status"]}

BAD_INPUTS: list[tuple[str, dict[str, Any], str | None, int, str]] = [
    # name, how to send, fake Healthie failure, status, error text
    ("bad signature", {"secret": "whsec_wrong"}, None, 401, "bad signature"),
    ("wrong digest", {"tamper_body": json.dumps({**GOOD_PAYLOAD, "resource_id": "502"})
                      .encode()}, None, 401, "Content-Digest does not match"),
    ("garbage digest", {"digest_override": "sha-256=:not base64!:"}, None, 401,
     "Content-Digest does not match"),
    ("missing signature", {"omit": ("Signature",)}, None, 401, "missing"),
    ("missing digest", {"omit": ("Content-Digest",)}, None, 401, "missing"),
    ("malformed JSON", {"payload": b'{"resource_id": '}, None, 400, "not valid UTF-8 JSON"),
    ("not a Healthie payload", {"payload": {"hello": "world"}}, None, 400, "missing field"),
    ("oversized body", {"payload": {**GOOD_PAYLOAD, "pad": "x" * 70_000}}, None, 413,
     "body over"),
    ("GraphQL errors", {}, "graphql_error", 503, "Healthie API unavailable"),
    ("HTTP 500 from Healthie", {}, "http_500", 503, "Healthie API unavailable"),
    ("Healthie times out", {}, "hang", 503, "Healthie API unavailable"),
]


@pytest.mark.parametrize(("name", "how", "failure", "status", "error"), BAD_INPUTS,
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_refused_logged_and_nothing_stored(
    webhook_server: WebhookServer,
    sender: HealthieWebhookSender,
    fake_healthie: FakeHealthie,
    caplog: pytest.LogCaptureFixture,
    name: str,
    how: dict[str, Any],
    failure: str | None,
    status: int,
    error: str,
) -> None:
    fake_healthie.add_appointment("501", client_id=CLIENT, provider_id=CLINICIAN, date=PAST,
                                  pm_status="No-Show")
    if failure:
        fake_healthie.fail_next(failure)
    options = dict(how)
    payload = options.pop("payload", GOOD_PAYLOAD)
    caplog.set_level(logging.INFO, logger="bot.platform")

    reply = sender.send(payload, **options)

    assert reply.status == status, reply.body
    assert reply.body["ok"] is False
    assert error in reply.body["error"]
    assert webhook_server.sink.calls == 0
    assert any(f"status={status}" in r.getMessage() for r in caplog.records), caplog.text
    # Healthie's retry of the same delivery now succeeds, once.
    assert sender.send(GOOD_PAYLOAD).body == {"ok": True}
    assert len(webhook_server.sink.applied) == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"resource_id": "1", "resource_id_type": "FormAnswerGroup",
          "event_type": "form_answer_group.created"}, "event type not used"),
        ({"resource_id": "404", "resource_id_type": "Appointment",
          "event_type": "appointment.updated"}, "appointment not found"),
    ],
    ids=["unknown event type", "record gone"],
)
def test_events_we_do_not_use_are_acknowledged_so_healthie_does_not_retry(
    webhook_server: WebhookServer,
    sender: HealthieWebhookSender,
    caplog: pytest.LogCaptureFixture,
    payload: dict[str, Any],
    reason: str,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.platform")

    reply = sender.send(payload)

    assert (reply.status, reply.body) == (200, {"ok": True, "ignored": reason})
    assert webhook_server.sink.calls == 0
    assert f"outcome=ignored: {reason}" in caplog.text


def test_client_not_on_the_caseload_is_acknowledged_and_not_stored(
    webhook_server: WebhookServer,
    sender: HealthieWebhookSender,
    fake_healthie: FakeHealthie,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.platform")
    fake_healthie.add_appointment("510", client_id="5555", provider_id="99", date=PAST,
                                  pm_status="Occurred")

    reply = appointment_update(sender, "510")

    assert (reply.status, reply.body) == (200, {"ok": True, "ignored": "unknown client"})
    assert webhook_server.sink.applied == []
    assert "client not on the caseload" in caplog.text
    assert "5555" not in caplog.text


def test_an_unreadable_date_from_healthie_is_acknowledged_not_retried(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    fake_healthie.add_appointment("501", client_id=CLIENT, provider_id=CLINICIAN, date=PAST,
                                  pm_status="Occurred")
    fake_healthie.state.appointments["501"]["date"] = "next week sometime"

    reply = appointment_update(sender)

    assert (reply.status, reply.body) == (200, {"ok": True, "ignored": "unusable record"})
    assert webhook_server.sink.calls == 0


def test_timeout_answer_arrives_within_the_client_timeout(
    webhook_server: WebhookServer, sender: HealthieWebhookSender, fake_healthie: FakeHealthie
) -> None:
    fake_healthie.fail_next("hang")
    started = datetime.now(UTC)

    reply = appointment_update(sender)

    assert reply.status == 503
    assert datetime.now(UTC) - started < timedelta(seconds=3)
