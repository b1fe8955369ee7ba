"""The whole guide with Healthie as the chart, against the schema-checking fake Healthie.

Three no-shows arrive as Healthie webhooks → the check-in prompt → *Send for me* (into the
client's chat) → the admin note in the chart → the closing check-in the same way → the
checklist: step 1 from the notes in the chart, step 2 from the chart's unsigned notes (ticked
when the last one is locked), step 3 naming the other provider by name and never the
clinician → the summary draft in the chart → *Move for me* → CCT's chart check. Every
document the bot sent is valid against Healthie's schema.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from bot.clock import FixedClock
from bot.delivery.slack_client import make_web_client
from bot.domain.model import State
from bot.entrypoints.http import ServerThread, create_wsgi_app
from bot.platform.healthie import handle_healthie
from bot.platform.healthie_api import HealthieClient
from bot.platform.healthie_chart import HealthieChart
from bot.platform.sink import ServiceSink
from bot.settings import Settings
from bot.slack.app import build_surface, create_app, create_fast_lane
from bot.slack.ids import Id
from smart_phrases import PhraseLibrary
from storage.db import make_session_factory
from tests.fakes.healthie import API_KEY, FakeHealthie, HealthieWebhookSender
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_requests import SlackRequests
from tests.helpers import import_rows
from tests.slack.conftest import CCT_CHANNEL, CLINICIAN, Bot, buttons, submit_summary, text_of

TORONTO = ZoneInfo("America/Toronto")
CLIENT = "4242"  # the Healthie patient id, which is the chart id
HEALTHIE_CLINICIAN = "77"
SECRET = "whsec_scenario"
CLINICIAN_EMAIL = "dana.whitfield@practice.example"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO).astimezone(UTC)  # type: ignore[misc]


@pytest.fixture
def healthie() -> Iterator[FakeHealthie]:
    fake = FakeHealthie().start()
    fake.add_group("10", "Active Clients")
    fake.add_group("11", "Discharged Clients")
    fake.add_user(CLIENT, dietitian_id=HEALTHIE_CLINICIAN, other_provider_ids=["78"],
                  user_group_id="10")
    fake.add_user(HEALTHIE_CLINICIAN, is_patient=False, full_name="Dana Whitfield",
                  email=CLINICIAN_EMAIL, title="Therapist")
    fake.add_user("78", is_patient=False, full_name="Lee Park", title="Psychiatrist")
    fake.add_form("300", "Outreach Admin Note", questions=[("3001", "textarea", "Note")])
    fake.add_form("301", "Discharge Summary", questions=[("3011", "textarea", "Summary")])
    fake.add_form("302", "Progress Note", questions=[("3021", "textarea", "Notes")])
    fake.add_charting_note("701", client_id=CLIENT, form_id="302",
                           created_at=local(2026, 2, 23, 11), name="Progress Note")
    fake.add_appointment("500", client_id=CLIENT, provider_id=HEALTHIE_CLINICIAN,
                         date=local(2026, 2, 23, 10), pm_status="Occurred")
    yield fake
    fake.stop()


@pytest.fixture
def scenario(
    healthie: FakeHealthie,
    slack_settings: Settings,
    fake_slack: FakeSlackAPI,
    engine: Engine,
    clock: FixedClock,
    phrases: PhraseLibrary,
    slack: SlackRequests,
) -> Iterator[tuple[Bot, HealthieWebhookSender]]:
    settings = slack_settings.model_copy(update={
        "platform_app_url": "https://secure.gethealthie.com",
        "platform_note_url": "https://secure.gethealthie.com/users/{client_id}/notes/{note_id}",
    })
    fake_slack.add_user(CLINICIAN, real_name="Dana Whitfield", tz="America/Toronto",
                        email=CLINICIAN_EMAIL)
    client = make_web_client(settings)
    api = HealthieClient(healthie.url, API_KEY, timeout=5, sleep=lambda _s: None)
    chart = HealthieChart(api, settings)
    surface = build_surface(settings, client=client, session_factory=make_session_factory(engine),
                            clock=clock, phrases=phrases, platform=chart)
    app = create_app(settings, client=client, session_factory=make_session_factory(engine),
                     clock=clock, surface=surface)
    routes = {"/platform/healthie": functools.partial(
        handle_healthie, secret=SECRET, client=api, sink=ServiceSink(surface.services),
        clock=clock, discharged_group_name=settings.discharged_group_name)}
    lane = create_fast_lane(settings, surface, client)
    with ServerThread(create_wsgi_app(slack_app=app, routes=routes, slack_lane=lane)) as server:
        bot = Bot(surface, fake_slack, slack, clock, server.url, engine, app)
        yield bot, HealthieWebhookSender(SECRET, f"{server.url}/platform/healthie")
    api.close()


def no_show(bot: Bot, healthie: FakeHealthie, sender: HealthieWebhookSender, day: int) -> None:
    at = local(2026, 3, day, 10)
    bot.clock.set(at + timedelta(hours=2))
    healthie.add_appointment(f"5{day:02d}", client_id=CLIENT, provider_id=HEALTHIE_CLINICIAN,
                             date=at, pm_status="No-Show", pm_status_changed_at=at)
    reply = sender.event("appointment.updated", f"5{day:02d}", resource_type="Appointment",
                         changed_fields=["pm_status"])
    assert reply.status == 200, reply.body


def send_for_me(bot: Bot, healthie: FakeHealthie, number: int | None) -> dict[str, Any]:
    prompt = bot.dm()[-1]
    # The attendance path: check-in 1, then the final (closing) check-in.
    title = f"Check-in {number} of 2" if number else "Final check-in"
    assert f"{title} is due" in text_of(prompt)
    assert bot.click(prompt, Id.SEND_FOR_ME).status == 200
    [*_, chat] = healthie.calls_to("createNote")
    assert "Zephyrine" in str(chat.variables["content"])  # the first name goes to the chat only
    return bot.fresh(prompt)


def test_healthie_practice_goes_through_the_guide_with_the_chart_as_record(
    scenario: tuple[Bot, HealthieWebhookSender], healthie: FakeHealthie
) -> None:
    bot, sender = scenario
    bot.clock.set(local(2026, 3, 2, 12))
    import_rows(bot.service, f"{CLIENT},{CLINICIAN},Zephyrine,2026-02-23T10:00,,")

    # Three no-shows, reported by Healthie: inactive by attendance, check-in 1 at once.
    for day in (3, 5, 9):
        no_show(bot, healthie, sender, day)
    bot.tick(local(2026, 3, 9, 13))
    assert bot.service.reads.caseload()[0].state is State.OUTREACH

    # Send for me: into the client's chat, and the admin note into the chart.
    prompt = send_for_me(bot, healthie, 1)
    admin_notes = [n for n in healthie.state.charting_notes.values()
                   if n["custom_module_form_id"] == "300"]
    [note] = admin_notes
    assert note["finished"] is True
    assert note["user_id"] == CLIENT
    assert note["date"].startswith("2026-03-09")  # dated the day of the attempt
    assert "\"Check-in 1 of 2\" was sent" in note["answers"][0]["answer"]
    assert "Admin note written to the chart" in text_of(prompt)
    assert f"/users/{CLIENT}/notes/" in text_of(prompt)
    assert buttons(prompt) == []
    # The clinician was matched by their Slack email: Send for me posted as them.
    conversation = healthie.calls_to("createConversation")[0].variables
    assert conversation["owner_id"] == HEALTHIE_CLINICIAN

    # Every further check-in the policy asks for (the closing one), the same way, until the
    # checklist opens two weeks after the last one.
    sent = 1
    when = local(2026, 3, 9, 13)
    while "Discharge checklist" not in text_of(bot.dm()[-1]):
        when += timedelta(days=14)
        bot.tick(when)
        if Id.SEND_FOR_ME in buttons(bot.dm()[-1]):
            sent += 1
            send_for_me(bot, healthie, None)
        assert when < local(2026, 6, 1)
    assert len([n for n in healthie.state.charting_notes.values()
                if n["custom_module_form_id"] == "300"]) == sent

    # The checklist. Step 1 from the notes in the chart; step 2 lists the unsigned progress
    # note from the chart, with its link.
    checklist = bot.dm()[-1]
    assert "Discharge checklist" in text_of(checklist)
    assert ":white_check_mark: *1. Re-engagement attempts documented*" in text_of(checklist)
    assert "1 note(s) not yet signed and locked" in text_of(checklist)
    assert f"/users/{CLIENT}/notes/701|Progress Note" in text_of(checklist)
    assert buttons(checklist) == [Id.STEP_CONFIRM]  # the clinician may still confirm by hand

    # The clinician signs it in Healthie; Healthie says so; step 2 ticks itself.
    healthie.lock_note("701")
    assert sender.event("form_answer_group.locked", "701",
                        resource_type="FormAnswerGroup").status == 200
    bot.surface.dispatcher.deliver_due()
    checklist = bot.fresh(checklist)
    assert ":white_check_mark: *2. All session notes completed" in text_of(checklist)

    # Step 3 names the other provider by name and role, never the clinician.
    assert "The platform lists on the care team: Lee Park (Psychiatrist)." in text_of(checklist)
    assert "Dana Whitfield" not in text_of(checklist)
    assert bot.click(checklist, Id.OTHER_PROVIDERS, label="No, nobody else").status == 200

    # The summary: its last session from Healthie, a draft in the chart, the DM links to it.
    assert submit_summary(bot, bot.fresh(checklist)).status == 200
    modal = bot.fake.calls("views.open")[-1].body["view"]
    assert "2026-02-23" in text_of(modal) or "23 Feb 2026" in text_of(modal)
    [draft] = [n for n in healthie.state.charting_notes.values()
               if n["custom_module_form_id"] == "301"]
    assert draft["is_locked"] is False  # for the clinician to review and sign
    assert "Low mood after a job loss" in draft["answers"][0]["answer"]
    summary_dm = bot.dm()[-1]
    assert "in the chart as a draft note" in text_of(summary_dm)
    assert f"/users/{CLIENT}/notes/{draft['id']}" in text_of(summary_dm)

    # Move for me: the fixed mutation, then CCT is asked for its chart check.
    checklist = bot.fresh(checklist)
    assert bot.click(checklist, Id.MOVE_FOR_ME).status == 200
    assert healthie.state.users[CLIENT]["user_group_id"] == "11"
    assert bot.service.reads.caseload()[0].state is State.DISCHARGED
    assert "Chart check and archive" in text_of(bot.fake.messages(CCT_CHANNEL)[-1])

    # Nothing the bot sent to Healthie was invalid; nothing private reached the CCT channel.
    assert healthie.schema_errors == []
    assert bot.fake.refusals == []
    for message in bot.fake.messages(CCT_CHANNEL):
        assert "Zephyrine" not in text_of(message)
        assert "Low mood" not in text_of(message)


def test_care_note_goes_into_the_chart_and_the_reply_keeps_its_text_out_of_channels(
    scenario: tuple[Bot, HealthieWebhookSender], healthie: FakeHealthie
) -> None:
    bot, _ = scenario
    bot.clock.set(local(2026, 3, 2, 12))
    import_rows(bot.service, f"{CLIENT},{CLINICIAN},Zephyrine,2026-02-23T10:00,,")

    answer = bot.send(bot.slack.slash_command(f"note {CLIENT} Called, left a voicemail.",
                                              user_id=CLINICIAN))

    assert answer.status == 200
    [note] = [n for n in healthie.state.charting_notes.values()
              if n["custom_module_form_id"] == "300"]
    assert note["answers"][0]["answer"] == "Called, left a voicemail."
    assert note["date"].startswith("2026-03-02")
    assert all("voicemail" not in text_of(m) for m in bot.fake.messages(CCT_CHANNEL))


def test_a_clinician_whose_email_matches_nobody_is_not_looked_up_on_every_message(
    scenario: tuple[Bot, HealthieWebhookSender], healthie: FakeHealthie
) -> None:
    bot, _ = scenario
    bot.clock.set(local(2026, 3, 2, 12))
    import_rows(bot.service, f"{CLIENT},{CLINICIAN},Zephyrine,2026-02-23T10:00,,")
    chart = bot.service.chart

    assert chart.map_clinician(CLINICIAN, "someone.else@practice.example") is False
    assert chart.map_clinician(CLINICIAN, "someone.else@practice.example") is False
    assert len(healthie.calls_to("organizationMembers")) == 1
    bot.clock.advance(timedelta(hours=7))
    assert chart.map_clinician(CLINICIAN, CLINICIAN_EMAIL) is True
    assert len(healthie.calls_to("organizationMembers")) == 2
