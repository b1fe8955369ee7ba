"""The bot's WebClient: settings wiring, retries that cannot double-post, time zone lookup."""

from __future__ import annotations

import socket
from http.client import RemoteDisconnected
from urllib.error import URLError

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.state import RetryState

from bot.delivery.slack_client import (
    SafeConnectionErrorRetryHandler,
    lookup_timezone,
    make_web_client,
)
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlackAPI, NotOk, Rate, ResetAfter, ResetBefore

CONNECTION_ERRORS = (ConnectionResetError, RemoteDisconnected, URLError)


def settings_for(fake: FakeSlackAPI) -> Settings:
    # No trailing slash on purpose: SLACK_API_URL as an admin would type it.
    return Settings(slack_bot_token="xoxb-from-settings", slack_api_url=fake.url.rstrip("/"))


def test_client_uses_the_token_and_api_url_from_settings(fake_slack: FakeSlackAPI) -> None:
    client = make_web_client(settings_for(fake_slack))

    assert client.auth_test()["ok"]
    [call] = fake_slack.calls("auth.test")
    assert call.path == "/api/auth.test"
    assert call.token == "xoxb-from-settings"


def test_lost_answer_to_post_message_is_not_retried(fake_slack: FakeSlackAPI) -> None:
    fake_slack.script("chat.postMessage", ResetAfter())
    client = make_web_client(settings_for(fake_slack))

    with pytest.raises(CONNECTION_ERRORS):
        client.chat_postMessage(channel="C1", text="Check-in 1 is due")

    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert [m["text"] for m in fake_slack.messages("C1")] == ["Check-in 1 is due"]


def test_reset_before_post_message_is_not_retried_either(fake_slack: FakeSlackAPI) -> None:
    """The client cannot tell the two resets apart; the outbox reconciles, then resends."""
    fake_slack.script("chat.postMessage", ResetBefore())
    client = make_web_client(settings_for(fake_slack))

    with pytest.raises(CONNECTION_ERRORS):
        client.chat_postMessage(channel="C1", text="x")

    assert fake_slack.messages("C1") == []


def test_lost_answer_to_a_read_is_retried_once(fake_slack: FakeSlackAPI) -> None:
    fake_slack.add_user("U0CLIN0001", tz="America/Winnipeg")
    fake_slack.script("users.info", ResetAfter())

    tz = lookup_timezone(make_web_client(settings_for(fake_slack)), "U0CLIN0001")

    assert tz == "America/Winnipeg"
    assert [c.answer for c in fake_slack.calls("users.info")] == ["ResetAfter", "normal"]


def test_rate_limit_reaches_the_caller_with_retry_after(fake_slack: FakeSlackAPI) -> None:
    fake_slack.script("chat.postMessage", Rate(retry_after=3))
    client = make_web_client(settings_for(fake_slack))

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "3"
    assert len(fake_slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("method", "error", "retry"),
    [
        ("chat.postMessage", URLError(ConnectionRefusedError(111, "refused")), True),
        ("chat.postMessage", URLError(socket.gaierror(-2, "Name or service not known")), True),
        ("chat.postMessage", ConnectionResetError(104, "reset"), False),
        ("chat.postMessage", RemoteDisconnected("closed"), False),
        ("chat.postMessage", URLError(ConnectionResetError(104, "reset")), False),
        ("chat.postEphemeral", RemoteDisconnected("closed"), False),
        ("views.open", RemoteDisconnected("closed"), False),
        ("chat.update", RemoteDisconnected("closed"), True),
        ("conversations.history", ConnectionResetError(104, "reset"), True),
        ("users.info", URLError(ConnectionResetError(104, "reset")), True),
        ("users.info", TimeoutError("timed out"), False),
    ],
)
def test_retry_policy_by_method_and_error(method: str, error: Exception, retry: bool) -> None:
    request = HttpRequest(method="POST", url=f"https://slack.com/api/{method}", headers={})

    verdict = SafeConnectionErrorRetryHandler().can_retry(
        state=RetryState(), request=request, response=None, error=error
    )

    assert verdict is retry


def test_timezone_is_none_for_an_unknown_user(fake_slack: FakeSlackAPI) -> None:
    assert lookup_timezone(make_web_client(settings_for(fake_slack)), "U0NOBODY") is None


def test_timezone_is_none_when_slack_has_a_zone_python_does_not_know(
    fake_slack: FakeSlackAPI,
) -> None:
    fake_slack.add_user("U0CLIN0001", tz="Mars/Olympus_Mons")

    assert lookup_timezone(make_web_client(settings_for(fake_slack)), "U0CLIN0001") is None


def test_timezone_lookup_failure_that_may_pass_raises(fake_slack: FakeSlackAPI) -> None:
    fake_slack.add_user("U0CLIN0001")
    fake_slack.script("users.info", NotOk("ratelimited"))

    with pytest.raises(SlackApiError, match="ratelimited"):
        lookup_timezone(make_web_client(settings_for(fake_slack)), "U0CLIN0001")
