"""Slack's payload limits: our messages stay within them, and the fake refuses what Slack would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.devtools.slack_limits import Refused, check_message
from bot.services.readmodels import Resolution, Resolved
from bot.slack.views.messages import outbox_message
from smart_phrases.slack_text import PREVIEW_HEADER, SLACK_SECTION_LIMIT
from tests.fakes.slack_api import FakeSlackAPI
from tests.slack.test_views_golden import AT, MESSAGES, base


@pytest.fixture
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_message_we_render_is_within_slacks_limits(name: str) -> None:
    check_message(outbox_message(MESSAGES[name]).to_dict())


def test_long_check_in_preview_is_split_and_loses_no_word() -> None:
    long_line = "w" * 7000
    preview = "\n".join(["A line of the check-in for the client."] * 80 + [long_line])
    message = outbox_message(base(preview=preview)).to_dict()

    check_message(message)  # Slack takes it
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"][1:]
    assert len(sections) >= 4
    assert all(len(s) <= SLACK_SECTION_LIMIT for s in sections)
    assert sections[0].startswith(PREVIEW_HEADER)
    shown = "".join(s.replace(PREVIEW_HEADER, "").replace("\n", "").replace(">", "")
                    for s in sections)
    assert shown.count("w") == 7000


@pytest.mark.parametrize(("name", "base_id"), [
    ("classify_reply", "reply_classify"),
    ("checklist_other_providers", "checklist_other_providers"),
])
def test_action_ids_are_unique_within_each_block(name: str, base_id: str) -> None:
    message = outbox_message(MESSAGES[name]).to_dict()
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    ids = [e["action_id"] for e in actions["elements"]]

    assert len(ids) == len(set(ids)) > 1
    assert all(i.startswith(f"{base_id}:") for i in ids)


def test_an_updated_message_gets_fresh_block_ids_and_a_rerender_keeps_them() -> None:
    due = outbox_message(base()).to_dict()
    again = outbox_message(base()).to_dict()
    answered = outbox_message(base(resolutions=(
        Resolution(Resolved.SNOOZED, "U0CLIN0001", AT, "3 days"),))).to_dict()

    def ids(message: dict[str, Any]) -> list[str]:
        return [b["block_id"] for b in message["blocks"] if "block_id" in b]

    assert ids(due) == ids(again)
    assert set(ids(due)).isdisjoint(ids(answered))


# --- the fake refuses what Slack refuses --------------------------------------------------


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": "Go"},
            "action_id": action_id, "value": "1"}


@pytest.mark.parametrize(("kwargs", "error", "reason"), [
    ({"blocks": [section("x")] * 51}, "invalid_blocks", "no more than 50"),
    ({"blocks": [section("x" * 3001)]}, "invalid_blocks", "less than 3001"),
    ({"blocks": [{"type": "actions", "elements": [button("a"), button("a")]}]},
     "invalid_blocks", "unique within the containing block"),
    ({"blocks": [section("a", block_id="b"), section("c", block_id="b")]},
     "invalid_blocks", "duplicate block_id"),
    ({"text": "x" * 40_001}, "msg_too_long", None),
    ({"text": "x", "metadata": {"event_payload": {}}}, "invalid_metadata_format", None),
    ({"text": "x", "metadata": {"event_type": "e", "event_payload": "nope"}},
     "invalid_metadata_schema", None),
])
def test_fake_slack_refuses_payloads_slack_would_refuse(
    fake: FakeSlackAPI, kwargs: dict[str, Any], error: str, reason: str | None
) -> None:
    client = WebClient(base_url=fake.url, token="xoxb-test")
    kwargs.setdefault("text", "fallback")

    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", **kwargs)

    assert refused.value.response["error"] == error
    if reason:
        assert reason in " ".join(refused.value.response["errors"])
    assert fake.messages("C1") == []
    assert fake.refusals[0][1] == error


def test_limits_checker_names_where_the_problem_is() -> None:
    with pytest.raises(Refused) as refused:
        check_message({"blocks": [section("ok"), {"type": "actions", "elements": []}]})

    assert refused.value.reasons == ["must provide 1 to 25 items [json-pointer:/blocks/1/elements]"]
