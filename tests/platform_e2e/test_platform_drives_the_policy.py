"""Issue 5 end to end: a fake Healthie and a generic sender drive the policy over real HTTP.

The bot's own front (bot/http.py + bot/web.py routes) is served on loopback against a real
database; Healthie's webhooks are signed as Healthie signs them and the thin payloads are
read back from the fake GraphQL API. Nothing of our own is mocked.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.clock import FixedClock
from bot.domain.errors import DomainError
from bot.domain.model import ChecklistStep, State
from bot.entrypoints.bootstrap import Runtime, build_runtime
from bot.entrypoints.http import ServerThread, create_wsgi_app
from bot.entrypoints.web import HealthCheck, platform_routes
from bot.platform.generic import sign_generic
from bot.services.types import Actor, Source
from bot.settings import Settings
from storage.models import AdminNote, EventRecord, OutboxMessage, ProcessedDelivery
from tests.fakes.healthie import API_KEY, FakeHealthie, HealthieWebhookSender, WebhookReply
from tests.helpers import import_rows

HEALTHIE_SECRET = "whsec_e2e"
GENERIC_SECRET = "generic-e2e"
CLIENT = "4242"  # the Healthie patient id is the chart id
CLINICIAN = "77"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 in Toronto
CLINICIAN_SLACK = Actor("U0CLIN1", Source.SLACK)


class AppliedSender(HealthieWebhookSender):
    """Healthie's sender, and the bot's applier drained after each delivery: a webhook is
    acknowledged once stored and applied right after, which these stories wait for."""

    def __init__(self, runtime: Runtime, secret: str, url: str) -> None:
        super().__init__(secret, url)
        self.runtime = runtime

    def send(self, payload: dict[str, object] | bytes, **options: Any) -> WebhookReply:
        reply = super().send(payload, **options)
        assert self.runtime.inbound is not None
        self.runtime.inbound.drain()
        return reply


@dataclass
class Bot:
    runtime: Runtime
    clock: FixedClock
    url: str
    healthie: FakeHealthie
    sender: AppliedSender

    def applied(self) -> None:
        """Wait for the events the webhooks stored to be applied (they are, right after)."""
        assert self.runtime.inbound is not None
        self.runtime.inbound.drain()

    def state(self) -> State:
        return self.runtime.services.recording.current_state(CLIENT, actor=CLINICIAN_SLACK)

    def count(self, model: type) -> int:
        with self.runtime.uow() as repo:
            return int(repo.session.scalar(select(func.count()).select_from(model)) or 0)

    def outbox_kinds(self) -> list[str]:
        with self.runtime.uow() as repo:
            return list(repo.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))

    def appointment(self, appointment_id: str, status: str, day: int) -> int:
        """A session on March `day` with `status`, reported by webhook; returns the status."""
        at = datetime(2026, 3, day, 15, 0, tzinfo=UTC)
        self.clock.set(at + timedelta(hours=2))
        self.healthie.add_appointment(
            appointment_id,
            client_id=CLIENT,
            provider_id=CLINICIAN,
            date=at,
            pm_status=status,
            pm_status_changed_at=at + timedelta(hours=1),
        )
        reply = self.sender.event(
            "appointment.updated",
            appointment_id,
            resource_type="Appointment",
            changed_fields=["pm_status"],
        )
        return reply.status


@pytest.fixture
def bot(database_url: str) -> Iterator[Bot]:
    healthie = FakeHealthie().start()
    healthie.add_group("10", "Active Clients")
    healthie.add_group("11", "Discharged Clients")
    healthie.add_user(CLIENT, dietitian_id=CLINICIAN, other_provider_ids=[], user_group_id="10")
    healthie.add_user(CLINICIAN, is_patient=False)
    healthie.add_conversation("c1", owner_id=CLINICIAN, member_ids=[CLINICIAN, CLIENT])
    # The practice's admin-note form: documented check-ins are written into the chart.
    healthie.add_form("300", "Outreach Admin Note", questions=[("3001", "textarea", "Note")])
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        cct_channel_id="C0CCT",
        healthie_api_url=healthie.url,
        healthie_api_key=SecretStr(API_KEY),
        healthie_webhook_secret=SecretStr(HEALTHIE_SECRET),
        platform_webhook_secret=SecretStr(GENERIC_SECRET),
        healthie_timeout_seconds=1.0,
        practice_name="Northside Therapy",
    )
    clock = FixedClock(START)
    runtime = build_runtime(settings, clock=clock)
    import_rows(runtime.services, f"{CLIENT},U0CLIN1,Zoë,2026-03-02T10:00,,America/Toronto")
    front = create_wsgi_app(
        slack_app=None,
        routes=platform_routes(runtime, runtime.healthie),
        health=HealthCheck(runtime),
    )
    with ServerThread(front) as server:
        sender = AppliedSender(runtime, HEALTHIE_SECRET, f"{server.url}/platform/healthie")
        yield Bot(runtime, clock, server.url, healthie, sender)
    runtime.close()
    healthie.stop()


def post_generic(
    url: str,
    payload: dict[str, object],
    *,
    secret: str = GENERIC_SECRET,
    timestamp: int | None = None,
) -> tuple[int, dict[str, object]]:
    body = json.dumps(payload).encode()
    ts = str(timestamp if timestamp is not None else int(time.time()))
    request = urllib.request.Request(
        f"{url}/platform/events",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Platform-Timestamp": ts,
            "X-Platform-Signature": sign_generic(secret, ts, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_three_no_shows_from_healthie_open_the_inactive_path(bot: Bot) -> None:
    assert bot.appointment("501", "No-Show", 4) == 200
    assert bot.appointment("502", "Late Cancellation", 5) == 200
    assert bot.state() is State.ACTIVE
    assert bot.appointment("503", "No-Show", 6) == 200
    assert bot.state() is State.OUTREACH
    assert bot.outbox_kinds() == ["checkin"]  # check-in 1 at once, for the clinician


def test_repeated_healthie_deliveries_have_one_effect(bot: Bot) -> None:
    assert bot.appointment("501", "No-Show", 4) == 200
    events = bot.count(EventRecord)
    for _ in range(3):  # Healthie retries the very same webhook
        reply = bot.sender.event(
            "appointment.updated", "501", resource_type="Appointment", changed_fields=["pm_status"]
        )
        assert reply.status == 200
    assert bot.count(EventRecord) == events
    assert bot.count(ProcessedDelivery) == 1


def test_client_chat_reply_stops_outreach_and_tells_the_clinician(bot: Bot) -> None:
    bot.clock.set(datetime(2026, 3, 16, 14, 5, tzinfo=UTC))  # check-in 1 due
    bot.runtime.services.outreach.tick()
    bot.runtime.services.outreach.mark_checkin_sent(CLIENT, actor=CLINICIAN_SLACK)
    bot.clock.set(datetime(2026, 3, 18, 16, 0, tzinfo=UTC))
    bot.healthie.add_note(
        "n1",
        conversation_id="c1",
        creator_id=CLIENT,
        content="hi, sorry!",
        created_at=datetime(2026, 3, 18, 15, 50, tzinfo=UTC),
    )
    reply = bot.sender.event("message.created", "n1", resource_type="Note")
    assert reply.status == 200
    assert bot.state() is State.REPLY_REVIEW
    assert bot.outbox_kinds() == ["checkin", "classify_reply"]
    # the message text never reaches our database
    with bot.runtime.uow() as repo:
        assert "sorry" not in json.dumps(
            [r.data for r in repo.session.scalars(select(EventRecord))]
        )


def test_send_for_me_posts_the_rendered_checkin_into_the_client_chat(bot: Bot) -> None:
    bot.clock.set(datetime(2026, 3, 16, 14, 5, tzinfo=UTC))
    bot.runtime.services.outreach.tick()
    outcome = bot.runtime.services.outreach.send_checkin_via_platform(CLIENT, actor=CLINICIAN_SLACK, number=1)
    assert outcome.assessment.checkins_sent == 1
    [call] = bot.healthie.calls_to("createNote")
    sent = json.dumps(call.variables, ensure_ascii=False)
    assert "Zoë" in sent  # the first name goes only into the client's chat
    assert "checking in" in sent.lower() or "check in" in sent.lower()
    with bot.runtime.uow() as repo:
        [note] = repo.session.scalars(select(AdminNote)).all()
    assert note.kind == "checkin"
    assert '"Check-in 1 of 3" was sent' in note.body
    # a second click cannot post twice
    with pytest.raises(DomainError, match="already documented"):
        bot.runtime.services.outreach.send_checkin_via_platform(CLIENT, actor=CLINICIAN_SLACK, number=1)
    assert len(bot.healthie.calls_to("createNote")) == 1


def test_send_for_me_that_healthie_refuses_sends_nothing_and_can_be_retried(bot: Bot) -> None:
    bot.clock.set(datetime(2026, 3, 16, 14, 5, tzinfo=UTC))
    bot.runtime.services.outreach.tick()
    bot.healthie.fail_next("http_500", times=5)
    with pytest.raises(DomainError, match="didn't take the message"):
        bot.runtime.services.outreach.send_checkin_via_platform(CLIENT, actor=CLINICIAN_SLACK, number=1)
    assert bot.count(AdminNote) == 0
    assert bot.state() is State.OUTREACH
    with bot.healthie._lock:  # the platform recovers
        bot.healthie._failures.clear()
    retried = bot.runtime.services.outreach.send_checkin_via_platform(CLIENT, actor=CLINICIAN_SLACK, number=1)
    assert retried.assessment.checkins_sent == 1


def _to_checklist(bot: Bot) -> None:
    service = bot.runtime.services
    for day in (16, 30):
        bot.clock.set(datetime(2026, 3, day, 14, 5, tzinfo=UTC))
        service.outreach.tick()
        service.outreach.mark_checkin_sent(CLIENT, actor=CLINICIAN_SLACK)
    bot.clock.set(datetime(2026, 4, 13, 14, 5, tzinfo=UTC))
    service.outreach.tick()
    service.outreach.mark_checkin_sent(CLIENT, actor=CLINICIAN_SLACK)
    bot.clock.set(datetime(2026, 4, 27, 14, 5, tzinfo=UTC))
    service.outreach.tick()
    assert bot.state() is State.INACTIVE
    service.checklist.complete_step(CLIENT, ChecklistStep.NOTES_SIGNED, actor=CLINICIAN_SLACK)
    service.checklist.complete_step(CLIENT, ChecklistStep.OTHER_PROVIDERS, answer="no", actor=CLINICIAN_SLACK)
    service.checklist.save_discharge_summary(
        CLIENT,
        treatment_focus="Sleep",
        goals_progress="Partly met",
        risk_level="low",
        actor=CLINICIAN_SLACK,
    )


def test_group_move_reported_by_healthie_completes_the_checklist(bot: Bot) -> None:
    _to_checklist(bot)
    bot.healthie.set_group(CLIENT, "11", updated_at=datetime(2026, 4, 27, 15, tzinfo=UTC))
    reply = bot.sender.event(
        "patient.updated", CLIENT, resource_type="User", changed_fields=["user_group_id"]
    )
    assert reply.status == 200
    assert bot.state() is State.DISCHARGED
    assert bot.outbox_kinds()[-1] == "cct_archive"
    again = bot.sender.event(
        "patient.updated", CLIENT, resource_type="User", changed_fields=["user_group_id"]
    )
    assert again.status == 200
    assert bot.outbox_kinds().count("cct_archive") == 1


def test_moving_the_client_through_the_platform_ticks_the_step(bot: Bot) -> None:
    _to_checklist(bot)
    outcome = bot.runtime.services.checklist.move_to_discharged_group(CLIENT, actor=CLINICIAN_SLACK)
    assert outcome.assessment.state is State.DISCHARGED
    [call] = bot.healthie.calls_to("updateClient")
    assert "11" in json.dumps(call.variables)


def test_generic_webhook_drives_the_same_policy_and_refuses_forgeries(bot: Bot) -> None:
    base = {"type": "session.no_show", "client_id": CLIENT}
    bot.clock.set(datetime(2026, 3, 9, 18, tzinfo=UTC))
    for n, day in enumerate((4, 5, 6), start=1):
        at = datetime(2026, 3, day, 15, tzinfo=UTC).isoformat()
        status, body = post_generic(bot.url, {**base, "event_id": f"e{n}", "occurred_at": at})
        assert (status, body) == (200, {"ok": True})
    bot.applied()
    assert bot.state() is State.OUTREACH
    before = bot.count(EventRecord)
    status, body = post_generic(
        bot.url, {**base, "event_id": "e3", "occurred_at": START.isoformat()}
    )
    assert (status, body.get("duplicate")) == (200, True)
    assert (
        post_generic(
            bot.url, {**base, "event_id": "x1", "occurred_at": START.isoformat()}, secret="wrong"
        )[0]
        == 401
    )
    assert (
        post_generic(
            bot.url,
            {**base, "event_id": "x2", "occurred_at": START.isoformat()},
            timestamp=int(time.time()) - 600,
        )[0]
        == 401
    )
    assert (
        post_generic(
            bot.url,
            {**base, "event_id": "x3", "client_id": "R-404", "occurred_at": START.isoformat()},
        )[0]
        == 422
    )
    assert post_generic(bot.url, {**base, "event_id": "x4", "occurred_at": "yesterday"})[0] == 400
    bot.applied()
    assert bot.count(EventRecord) == before


def test_healthz_reports_the_database_and_the_last_tick(bot: Bot) -> None:
    with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as response:
        body = json.loads(response.read())
    assert body["ok"] is True
    assert body["details"]["database"] == "ok"


def test_a_session_healthie_marks_rescheduled_no_longer_holds_outreach(bot: Bot) -> None:
    for appointment_id, day in (("501", 4), ("502", 5), ("503", 6)):
        assert bot.appointment(appointment_id, "No-Show", day) == 200
    assert bot.state() is State.OUTREACH
    booked_for = datetime(2026, 3, 20, 15, tzinfo=UTC)
    bot.healthie.add_appointment("510", client_id=CLIENT, provider_id=CLINICIAN,
                                 date=booked_for, created_at=bot.clock.now())
    assert bot.sender.event("appointment.created", "510", resource_type="Appointment").status == 200
    held = bot.runtime.services.reads.caseload()[0]
    assert held.due_at is not None
    assert held.due_at > booked_for  # waits for that session's outcome
    bot.clock.advance(timedelta(hours=1))
    bot.healthie.add_appointment("510", client_id=CLIENT, provider_id=CLINICIAN, date=booked_for,
                                 pm_status="Re-Scheduled", pm_status_changed_at=bot.clock.now())
    assert bot.sender.event("appointment.updated", "510", resource_type="Appointment",
                            changed_fields=["pm_status"]).status == 200
    released = bot.runtime.services.reads.caseload()[0]
    # No longer held: check-in 1 is due at the clinician's next working morning.
    assert released.state is State.OUTREACH
    assert released.due_at == datetime(2026, 3, 9, 16, tzinfo=UTC)
