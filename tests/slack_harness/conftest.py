"""Fixtures: a fake Slack Web API, a tiny real Bolt app, and the HTTP front serving it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.entrypoints.http import ServerThread, create_wsgi_app
from tests.fakes.slack_api import FakeSlackAPI, fake_slack  # noqa: F401 - the fixture
from tests.fakes.slack_requests import SlackRequests

SIGNING_SECRET = "test-signing-secret"


@pytest.fixture(autouse=True)
def _no_real_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real SLACK_* variables must never reach a test (or a real workspace)."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "CCT_", "DISCHARGE_")):
            monkeypatch.delenv(name)


@pytest.fixture
def slack() -> SlackRequests:
    return SlackRequests(signing_secret=SIGNING_SECRET)


@dataclass
class Seen:
    """What the tiny app's listeners received, for assertions."""

    commands: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def build_tiny_app(fake: FakeSlackAPI, seen: Seen) -> App:
    """A real Bolt app as `create_app` will build one: process_before_response, fake Web API."""
    app = App(
        process_before_response=True,
        signing_secret=SIGNING_SECRET,
        client=WebClient(base_url=fake.url, token="xoxb-test"),
    )

    @app.command("/care")
    def care(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        ack()
        seen.commands.append(command)
        client.chat_postMessage(channel=command["user_id"], text=f"you said: {command['text']}")

    @app.action("mark_sent")
    def mark_sent(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        seen.actions.append(body)

    @app.view("summary")
    def summary(ack: Ack, body: dict[str, Any]) -> None:
        values = body["view"]["state"]["values"]
        if not values["focus"]["focus_input"].get("value"):
            ack(response_action="errors", errors={"focus": "Please describe the focus."})
            return
        ack()
        seen.submissions.append(body)

    @app.event("app_home_opened")
    def home(body: dict[str, Any]) -> None:
        seen.events.append(body)

    return app


@dataclass
class Harness:
    fake: FakeSlackAPI
    seen: Seen
    url: str


@pytest.fixture
def harness(fake_slack: FakeSlackAPI) -> Iterator[Harness]:  # noqa: F811 - fixture injection
    seen = Seen()
    app = build_tiny_app(fake_slack, seen)
    fake_slack.reset()  # forget the auth.test Bolt made while starting
    with ServerThread(create_wsgi_app(slack_app=app)) as server:
        yield Harness(fake=fake_slack, seen=seen, url=server.url)
