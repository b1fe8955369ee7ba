"""Issue 9 at the Slack door: unverifiable requests never act, malformed ones are refused
cleanly, NUL bytes are refused, a replayed command acts once, no chart-id oracle."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote

import pytest
from slack_bolt import BoltContext
from sqlalchemy import text

from bot.slack.app import on_error
from bot.slack.ids import Id
from tests.fakes.slack_requests import Answer, SlackRequest, request, sign
from tests.slack.conftest import (
    CCT_CHANNEL,
    CLINICIAN,
    SIGNING_SECRET,
    STRANGER,
    Bot,
    caseload,
)

MARKER = "Zephyrine-forged-marker"


@pytest.fixture
def client_r1042(bot: Bot) -> Bot:
    caseload(bot, f"R-1042,{CLINICIAN},Zephyrine,2026-02-25T10:00,,")
    bot.surface.learn(CLINICIAN)
    return bot


def raw(bot: Bot, body: bytes, headers: dict[str, str]) -> Answer:
    return request(bot.url, "POST", "/slack/events", body=body, headers=headers)


def signed_raw(bot: Bot, body: bytes, content_type: str) -> Answer:
    return bot.send(bot.slack.signed(body, content_type))


def acting_calls(bot: Bot) -> list[str]:
    """Web API calls other than auth.test (Bolt's one-time identity check of a signed request)."""
    return [c.method for c in bot.fake.calls() if c.method != "auth.test"]


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    traced = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not traced, [r.getMessage() for r in traced]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("timestamp", ["abc", "1e10", "", "\u0661\u0662\u0663".encode().decode("latin-1"), "²³", "9" * 5000, "-1"])
def test_an_unverifiable_timestamp_gets_401_with_no_reply_no_write_and_no_body_in_the_log(
    client_r1042: Bot, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    bot = client_r1042
    caplog.set_level(logging.DEBUG)
    before, calls = bot.counts(), len(bot.fake.calls())
    forged = [
        bot.slack.slash_command(f"note R-1042 {MARKER}\nERROR forged line", user_id=CLINICIAN),
        bot.slack.block_actions(
            "no_such_action", value=MARKER, user_id=CLINICIAN, channel_id=CCT_CHANNEL
        ),
        bot.slack.block_actions(Id.MARK_SENT, value='{"o": "x"}', user_id=CLINICIAN),
        bot.slack.view_submission(Id.SUMMARY_MODAL, private_metadata=MARKER, user_id=CLINICIAN),
        bot.slack.event({"type": "message", "channel_type": "im", "channel": "D1",
                         "user": CLINICIAN, "text": MARKER}),
    ]
    for forgery in forged:
        answer = bot.send(forgery.with_headers(**{"X-Slack-Request-Timestamp": timestamp}))
        assert answer.status == 401
    assert bot.counts() == before
    assert len(bot.fake.calls()) == calls
    assert MARKER not in logged(caplog)
    assert "forged line" not in logged(caplog)
    no_tracebacks(caplog)


def test_the_error_handler_never_replies_to_an_unverified_request(bot: Bot) -> None:
    body = {"type": "block_actions", "user": {"id": CLINICIAN},
            "container": {"channel_id": CCT_CHANNEL}, "actions": [{"action_id": "x"}]}
    calls = len(bot.fake.calls())
    answer = on_error(RuntimeError("boom"), body, bot.surface.dispatcher.client, BoltContext())
    assert answer.status == 401
    assert len(bot.fake.calls()) == calls


def test_a_late_genuine_command_is_refused_without_logging_its_text(
    client_r1042: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    late = client_r1042.slack.slash_command(
        f"note R-1042 {MARKER}", user_id=CLINICIAN, timestamp=1_600_000_000
    )
    assert client_r1042.send(late).status == 401
    assert MARKER not in logged(caplog)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"this is not json", "application/json"),
        (b"{", "application/json"),
        (b"[]", "application/json"),
        (b"payload=%7B", "application/x-www-form-urlencoded"),
        (b"payload=[]", "application/x-www-form-urlencoded"),
        (b"payload=" + quote("1" * 5000).encode(), "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
    ],
    ids=["not-json", "open-brace", "json-list", "payload-brace", "payload-list",
         "payload-huge-int", "not-utf8"],
)
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_bodies_bolt_cannot_parse_get_400_or_401_never_500(
    client_r1042: Bot, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str,
    signed: bool,
) -> None:
    bot = client_r1042
    caplog.set_level(logging.DEBUG)
    before, calls = bot.counts(), acting_calls(bot)
    if signed:
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": "1700000000"}
        ts = int(bot.slack.clock())
        headers["X-Slack-Request-Timestamp"] = str(ts)
        headers["X-Slack-Signature"] = sign(SIGNING_SECRET, ts, body)
        answer = raw(bot, body, headers)
    else:
        answer = raw(bot, body, {"Content-Type": content_type})
    assert answer.status in (400, 401)
    assert bot.counts() == before
    assert acting_calls(bot) == calls
    no_tracebacks(caplog)


def _interactive(bot: Bot, payload: dict[str, Any]) -> SlackRequest:
    return bot.slack.interactive(payload)


MALFORMED: dict[str, dict[str, Any]] = {
    "block-actions-without-actions": {"type": "block_actions", "user": {"id": CLINICIAN}},
    "block-actions-empty-actions": {"type": "block_actions", "user": {"id": CLINICIAN},
                                    "actions": []},
    "block-actions-action-not-object": {"type": "block_actions", "user": {"id": CLINICIAN},
                                        "actions": ["x"]},
    "view-without-type": {"type": "view_submission", "user": {"id": CLINICIAN},
                          "view": {"callback_id": Id.SUMMARY_MODAL, "private_metadata": "{}"}},
    "view-not-object": {"type": "view_submission", "user": {"id": CLINICIAN}, "view": "x"},
    "user-is-a-number": {"type": "block_actions", "user": 7, "actions": [{"action_id": "x"}]},
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_signed_but_malformed_payloads_are_refused_cleanly(
    client_r1042: Bot, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    bot = client_r1042
    caplog.set_level(logging.DEBUG)
    before, calls = bot.counts(), acting_calls(bot)
    answer = bot.send(_interactive(bot, MALFORMED[name]))
    assert answer.status == 400
    assert bot.counts() == before
    assert acting_calls(bot) == calls
    no_tracebacks(caplog)


def test_a_button_value_with_a_row_id_of_2_to_the_63_is_refused_politely(
    client_r1042: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = client_r1042
    caplog.set_level(logging.DEBUG)
    before = bot.counts()
    value = json.dumps({"o": 2**63, "c": "R-1042"})
    assert bot.send(bot.slack.block_actions(Id.MARK_SENT, value=value, user_id=CLINICIAN)).status == 200
    assert bot.counts() == before
    [refusal] = bot.fake.ephemerals(user=CLINICIAN)
    assert "out of date" in refusal["text"]
    no_tracebacks(caplog)


def test_a_slash_command_without_user_id_and_an_event_without_user_are_refused(
    client_r1042: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = client_r1042
    caplog.set_level(logging.DEBUG)
    before, calls = bot.counts(), acting_calls(bot)
    fields = {"command": "/care", "text": "status", "trigger_id": "1.2.abc", "team_id": "T1"}
    from urllib.parse import urlencode

    answer = bot.send(bot.slack.signed(urlencode(fields).encode(),
                                       "application/x-www-form-urlencoded"))
    assert answer.status == 400
    event = bot.slack.event({"type": "message", "channel_type": "im", "channel": "D1",
                             "text": "hi"})
    assert bot.send(event).status == 400
    assert bot.counts() == before
    assert acting_calls(bot) == calls
    no_tracebacks(caplog)


def test_a_nul_byte_in_a_note_is_refused_with_a_clear_message(client_r1042: Bot) -> None:
    from bot.slack.guard import NUL_MESSAGE

    bot = client_r1042
    before = bot.counts()
    answer = bot.send(bot.slack.slash_command("note R-1042 left a\x00voicemail", user_id=CLINICIAN))
    assert answer.status == 200
    assert NUL_MESSAGE in answer.json()["text"]
    assert bot.counts() == before


def test_a_nul_byte_in_the_summary_modal_is_shown_on_the_field(client_r1042: Bot) -> None:
    from bot.slack.guard import NUL_MESSAGE

    bot = client_r1042
    before = bot.counts()
    values = {"summary_focus": {"summary_focus_input": {"type": "plain_text_input",
                                                         "value": "mood\x00"}}}
    view = {"blocks": [{"type": "input", "block_id": "summary_focus",
                        "element": {"type": "plain_text_input", "action_id": "summary_focus_input"},
                        "label": {"type": "plain_text", "text": "Focus"}}]}
    answer = bot.send(bot.slack.view_submission(
        Id.SUMMARY_MODAL, private_metadata='{"c":"R-1042"}', values=values, view=view,
        user_id=CLINICIAN,
    ))
    assert answer.status == 200
    assert answer.json() == {"response_action": "errors", "errors": {"summary_focus": NUL_MESSAGE}}
    assert bot.counts() == before


def test_a_replayed_slash_command_acts_once(client_r1042: Bot) -> None:
    bot = client_r1042
    command = bot.slack.slash_command("note R-1042 Called, left a voicemail", user_id=CLINICIAN)
    answers = [bot.send(command) for _ in range(3)]
    assert answers[0].json()["text"] == "Admin note added to R-1042's log."
    for again in answers[1:]:
        assert again.status == 200
        assert "already received" in again.json()["text"]
    with bot.engine.connect() as conn:
        assert conn.execute(text("select count(*) from admin_notes")).scalar_one() == 1
    fresh = bot.slack.slash_command("note R-1042 Called again", user_id=CLINICIAN)
    assert bot.send(fresh).json()["text"] == "Admin note added to R-1042's log."


def _without_ref(message: str) -> str:
    return re.sub(r"\(ref [0-9a-f]+\)", "(ref)", message).replace("R-1042", "ID").replace(
        "R-7777", "ID"
    )


@pytest.mark.parametrize("words", ["note {id} hello", "status {id}", "pause {id}",
                                   "session {id} attended"])
def test_a_stranger_gets_the_same_refusal_for_an_existing_and_a_missing_chart_id(
    client_r1042: Bot, words: str
) -> None:
    bot = client_r1042
    answers = []
    for chart in ("R-1042", "R-7777"):
        answer = bot.send(bot.slack.slash_command(words.format(id=chart), user_id=STRANGER))
        answers.append(answer.json())
    assert _without_ref(answers[0]["text"]) == _without_ref(answers[1]["text"])
    assert set(answers[0]) == set(answers[1])
