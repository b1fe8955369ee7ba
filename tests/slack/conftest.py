"""The real app served over HTTP against the fake Slack Web API, with a fixed clock.

`bot` drives it the way Slack and the scheduler would: signed requests in over HTTP,
`tick()` = service.outreach.tick + dispatcher.deliver_due at the clock's instant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from pydantic import SecretStr
from slack_bolt import App
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.clock import FixedClock
from bot.delivery.slack_client import make_web_client
from bot.entrypoints.http import ServerThread, create_wsgi_app
from bot.services import Services
from bot.services.ports import PlatformPort
from bot.settings import Settings
from bot.slack.app import build_surface, create_app, create_fast_lane
from bot.slack.dispatch import DispatchReport
from bot.slack.surface import Surface
from smart_phrases import PhraseLibrary
from storage.db import make_session_factory
from storage.models import AdminNote, AuditEntry, EventRecord, OutboxMessage
from tests.fakes.slack_api import FakeSlackAPI, fake_slack  # noqa: F401 - the fixture
from tests.fakes.slack_requests import Answer, SlackRequest, SlackRequests, post
from tests.helpers import import_rows

SIGNING_SECRET = "surface-signing-secret"
CLINICIAN = "U0CLIN0001"
OTHER_CLINICIAN = "U0CLIN0002"
CCT_MEMBER = "U0CCT00001"
CCT_GROUP_MEMBER = "U0CCT00002"
STRANGER = "U0STRANGER"
CCT_CHANNEL = "C0CCTCHAN1"
CCT_GROUP = "S0CCTGROUP"

#: Distinctive first names: a scanner looks for them in everything sent to the CCT channel.
FIRST_NAMES = ("Zephyrine", "Balthazar", "Ottoline", "Cassiopeia", "Peregrine")


@dataclass
class Bot:
    surface: Surface
    fake: FakeSlackAPI
    slack: SlackRequests
    clock: FixedClock
    url: str
    engine: Engine
    #: The Bolt app behind `url` (which answers notes and stored presses in its fast lane
    #: first): a test can serve it without the lane to compare the two paths.
    app: App

    @property
    def service(self) -> Services:
        return self.surface.services

    def send(self, request: SlackRequest) -> Answer:
        """Post the request; then let the Slack inbox apply what it stored (as the
        server's applier does right after answering), so the test sees the effect."""
        answer = post(self.url, request)
        self.surface.inbox.drain()
        return answer

    def tick(self, at: datetime | None = None) -> DispatchReport:
        if at is not None:
            self.clock.set(at)
        self.service.outreach.tick()
        return self.surface.dispatcher.deliver_due()

    def dm(self, user: str = CLINICIAN) -> list[dict[str, Any]]:
        return self.fake.messages(self.fake.dm_channel(user))

    def cct(self) -> list[dict[str, Any]]:
        return self.fake.messages(CCT_CHANNEL)

    def outbox_id(self, message: dict[str, Any]) -> int:
        key = message["metadata"]["event_payload"]["idempotency_key"]
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)
                ).scalar_one()
            )

    def click(
        self,
        message: dict[str, Any],
        action_id: str,
        *,
        user: str = CLINICIAN,
        label: str | None = None,
        option: str | None = None,
        channel: str | None = None,
    ) -> Answer:
        """Press a button (by action id, and label when several share it) on a stored message."""
        element = find_element(message, action_id, label)
        channel = channel or self.channel_of(message)
        if option is not None:
            chosen = next(o for o in element["options"] if o["text"]["text"] == option)
            request = self.slack.block_actions(
                element["action_id"],
                selected_option=chosen,
                user_id=user,
                message=message,
                channel_id=channel,
                block_id=element.get("_block_id"),
            )
        else:
            request = self.slack.block_actions(
                element["action_id"],
                value=element.get("value"),
                user_id=user,
                message=message,
                channel_id=channel,
                block_id=element.get("_block_id"),
            )
        return self.send(request)

    def channel_of(self, message: dict[str, Any]) -> str:
        for channel in self.fake.channels():
            if any(m["ts"] == message["ts"] for m in self.fake.messages(channel)):
                return channel
        raise AssertionError("message not found in any channel")

    def fresh(self, message: dict[str, Any]) -> dict[str, Any]:
        """The stored message as it is now (after in-place updates)."""
        channel = self.channel_of(message)
        return next(m for m in self.fake.messages(channel) if m["ts"] == message["ts"])

    def uow_session(self) -> Session:
        return Session(self.engine)

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                model.__tablename__: int(
                    conn.execute(select(func.count()).select_from(model)).scalar_one()
                )
                for model in (EventRecord, AdminNote, OutboxMessage, AuditEntry)
            }


def find_element(
    message: dict[str, Any], action_id: str, label: str | None = None
) -> dict[str, Any]:
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or [])
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if base_action(element.get("action_id") or "") != action_id:
                continue
            if label is not None and element.get("text", {}).get("text") != label:
                continue
            return {**element, "_block_id": block.get("block_id")}
    raise AssertionError(f"no {action_id} {label or ''} on message: {json.dumps(message)[:400]}")


def buttons(message: dict[str, Any]) -> list[str]:
    out = []
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") in ("button", "static_select"):
                out.append(base_action(element["action_id"]))
    return out


def base_action(action_id: str) -> str:
    """`reply_classify:fit_concern` -> `reply_classify` (see bot.slack.ids.variant)."""
    return action_id.split(":", 1)[0]


def text_of(message: dict[str, Any]) -> str:
    return json.dumps({k: message.get(k) for k in ("text", "blocks")}, ensure_ascii=False)


@pytest.fixture
def slack() -> SlackRequests:
    return SlackRequests(signing_secret=SIGNING_SECRET)


@pytest.fixture
def slack_settings(settings: Settings, fake_slack: FakeSlackAPI) -> Settings:  # noqa: F811
    return settings.model_copy(
        update={
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_bot_token": SecretStr("xoxb-test"),
            "slack_api_url": fake_slack.url,
            "cct_channel_id": CCT_CHANNEL,
            "cct_user_ids": [CCT_MEMBER],
            "cct_usergroup_id": CCT_GROUP,
            "slack_pace_seconds": 0.02,  # pacing has its own test; keep scenarios quick
        }
    )


@pytest.fixture
def platform() -> PlatformPort | None:
    """No clinical platform unless a test module overrides this fixture."""
    return None


@pytest.fixture
def bot(
    platform: PlatformPort | None,
    slack_settings: Settings,
    fake_slack: FakeSlackAPI,  # noqa: F811
    engine: Engine,
    clock: FixedClock,
    phrases: PhraseLibrary,
    slack: SlackRequests,
) -> Iterator[Bot]:
    fake_slack.add_user(CLINICIAN, real_name="Dana Whitfield", tz="America/Toronto")
    fake_slack.add_user(OTHER_CLINICIAN, real_name="Sam Okafor", tz="America/Vancouver")
    fake_slack.add_user(CCT_MEMBER, real_name="Robin Care", tz="America/Toronto")
    fake_slack.add_user(CCT_GROUP_MEMBER, real_name="Alex Coord", tz="America/Toronto")
    fake_slack.add_user(STRANGER, real_name="Pat Elsewhere", tz="Europe/London")
    fake_slack.add_usergroup(CCT_GROUP, [CCT_GROUP_MEMBER])
    client = make_web_client(slack_settings)  # the bot's own client: safe retries only
    surface = build_surface(
        slack_settings,
        client=client,
        session_factory=make_session_factory(engine),
        clock=clock,
        phrases=phrases,
        platform=platform,
    )
    app = create_app(
        slack_settings,
        client=client,
        session_factory=make_session_factory(engine),
        clock=clock,
        surface=surface,
    )
    lane = create_fast_lane(slack_settings, surface, client)
    with ServerThread(create_wsgi_app(slack_app=app, slack_lane=lane)) as server:
        yield Bot(surface, fake_slack, slack, clock, server.url, engine, app)


def caseload(bot: Bot, *lines: str) -> None:
    import_rows(bot.service, *lines)


SUMMARY_VALUES = {
    "summary_focus": {
        "summary_focus_input": {"type": "plain_text_input", "value": "Low mood after a job loss"}
    },
    "summary_goals": {
        "summary_goals_input": {"type": "plain_text_input", "value": "Sleep routine restored"}
    },
    "summary_risk": {
        "summary_risk_select": {"type": "static_select", "selected_option": {"value": "low"}}
    },
    "summary_considerations": {
        "summary_considerations_input": {"type": "plain_text_input", "value": None}
    },
}


def submit_summary(bot: Bot, checklist: dict[str, Any], *, user: str = CLINICIAN) -> Answer:
    """Press *Write the summary*, then submit the modal Slack opened, filled in."""
    bot.click(checklist, "checklist_open_summary", user=user)
    modal = bot.fake.calls("views.open")[-1].body["view"]
    return bot.send(
        bot.slack.view_submission(
            modal["callback_id"],
            private_metadata=modal["private_metadata"],
            values=SUMMARY_VALUES,
            user_id=user,
        )
    )
