"""The fake Slack Web API behaves like Slack for the real `WebClient`, and fails on demand."""

from __future__ import annotations

import time
from http.client import RemoteDisconnected
from urllib.error import URLError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.slack_api import (
    BOT_USER_ID,
    Answer,
    Delay,
    FakeSlackAPI,
    NotOk,
    Rate,
    ResetAfter,
    ResetBefore,
    Scripted,
    ServerError,
)

CONNECTION_ERRORS = (ConnectionResetError, RemoteDisconnected, URLError)


def client_for(fake: FakeSlackAPI, *, retries: bool = False, token: str = "xoxb-test") -> WebClient:
    """The SDK's client; without the SDK's default retries unless asked (to see each answer)."""
    if retries:
        return WebClient(base_url=fake.url, token=token)
    return WebClient(base_url=fake.url, token=token, retry_handlers=[])


# --------------------------------------------------------------------------- defaults


def test_url_ends_with_slash_and_binds_loopback(fake_slack: FakeSlackAPI) -> None:
    assert fake_slack.url.startswith("http://127.0.0.1:")
    assert fake_slack.url.endswith("/api/")


def test_auth_test_names_the_bot(fake_slack: FakeSlackAPI) -> None:
    answer = client_for(fake_slack).auth_test()

    assert answer["user_id"] == BOT_USER_ID
    assert answer["bot_id"]
    assert fake_slack.calls("auth.test")[0].token == "xoxb-test"


def test_missing_token_is_not_authed_and_a_user_token_is_invalid(fake_slack: FakeSlackAPI) -> None:
    anonymous = WebClient(base_url=fake_slack.url, retry_handlers=[])
    with pytest.raises(SlackApiError) as missing:
        anonymous.chat_postMessage(channel="C1", text="x")
    with pytest.raises(SlackApiError) as wrong:
        client_for(fake_slack, token="xoxp-user").chat_postMessage(channel="C1", text="x")

    assert missing.value.response["error"] == "not_authed"
    assert wrong.value.response["error"] == "invalid_auth"
    assert fake_slack.messages("C1") == []


def test_only_the_configured_token_is_accepted() -> None:
    with FakeSlackAPI(bot_token="xoxb-right") as fake:
        assert client_for(fake, token="xoxb-right").auth_test()["ok"]
        with pytest.raises(SlackApiError, match="invalid_auth"):
            client_for(fake, token="xoxb-wrong").auth_test()


def test_post_message_returns_channel_and_unique_ts_and_stores_metadata(
    fake_slack: FakeSlackAPI,
) -> None:
    client = client_for(fake_slack)
    metadata = {"event_type": "discharge_prompt", "event_payload": {"key": "ep7:checkin1"}}
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Check-in 1 is due"}}]

    first = client.chat_postMessage(channel="C0CCT", text="one", blocks=blocks, metadata=metadata)
    second = client.chat_postMessage(channel="C0CCT", text="two")

    assert first["channel"] == second["channel"] == "C0CCT"
    assert float(first["ts"]) < float(second["ts"])
    stored = fake_slack.messages("C0CCT")
    assert [m["text"] for m in stored] == ["one", "two"]
    assert stored[0]["metadata"] == metadata
    assert stored[0]["blocks"] == blocks
    call = fake_slack.calls("chat.postMessage")[0]
    assert call.body["metadata"] == metadata  # recorded parsed, not as a JSON string


def test_form_encoded_json_fields_are_decoded_in_the_record(fake_slack: FakeSlackAPI) -> None:
    client = client_for(fake_slack)

    client.api_call("chat.postMessage", params={
        "channel": "C1", "text": "x", "blocks": '[{"type": "divider"}]',
        "metadata": '{"event_type": "t", "event_payload": {"k": 1}}',
    })

    call = fake_slack.calls("chat.postMessage")[0]
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.body["blocks"] == [{"type": "divider"}]
    assert call.body["metadata"] == {"event_type": "t", "event_payload": {"k": 1}}


def test_post_to_a_user_id_lands_in_the_bots_dm_with_that_user(fake_slack: FakeSlackAPI) -> None:
    client = client_for(fake_slack)

    posted = client.chat_postMessage(channel="U0CLIN0001", text="hello")
    opened = client.conversations_open(users="U0CLIN0001")

    assert posted["channel"] == opened["channel"]["id"] == fake_slack.dm_channel("U0CLIN0001")
    assert posted["channel"].startswith("D")
    assert fake_slack.dm_channel("U0CLIN0002") != posted["channel"]


def test_post_without_text_or_blocks_is_no_text(fake_slack: FakeSlackAPI) -> None:
    with pytest.raises(SlackApiError, match="no_text"):
        client_for(fake_slack).api_call("chat.postMessage", json={"channel": "C1"})


def test_update_changes_the_stored_message_in_place(fake_slack: FakeSlackAPI) -> None:
    client = client_for(fake_slack)
    posted = client.chat_postMessage(channel="C1", text="Check-in 1 is due")

    updated = client.chat_update(channel="C1", ts=posted["ts"], text="Marked as sent by Dr A")

    assert updated["ts"] == posted["ts"]
    [message] = fake_slack.messages("C1")
    assert message["text"] == "Marked as sent by Dr A"
    assert "edited" in message
    with pytest.raises(SlackApiError, match="message_not_found"):
        client.chat_update(channel="C1", ts="1.000000", text="x")


def test_history_is_newest_first_and_honours_limit_oldest_and_metadata(
    fake_slack: FakeSlackAPI,
) -> None:
    client = client_for(fake_slack)
    posted = [
        client.chat_postMessage(
            channel="C1", text=f"m{n}",
            metadata={"event_type": "discharge_prompt", "event_payload": {"key": f"k{n}"}},
        )["ts"]
        for n in range(5)
    ]

    plain = client.conversations_history(channel="C1", limit=2)
    since = client.conversations_history(channel="C1", oldest=posted[2])
    with_meta = client.conversations_history(channel="C1", include_all_metadata=True)

    assert [m["text"] for m in plain["messages"]] == ["m4", "m3"]
    assert plain["has_more"] is True
    assert all("metadata" not in m for m in plain["messages"])
    assert [m["text"] for m in since["messages"]] == ["m4", "m3"]
    assert [m["metadata"]["event_payload"]["key"] for m in with_meta["messages"]] == [
        "k4", "k3", "k2", "k1", "k0",
    ]
    next_page = client.conversations_history(
        channel="C1", limit=2, cursor=plain["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in next_page["messages"]] == ["m2", "m1"]


def test_ephemeral_is_kept_apart_from_channel_history(fake_slack: FakeSlackAPI) -> None:
    client = client_for(fake_slack)

    answer = client.chat_postEphemeral(channel="C1", user="U0CLIN0001", text="Only you see this")

    assert answer["message_ts"]
    assert fake_slack.messages("C1") == []
    assert fake_slack.ephemerals(user="U0CLIN0001")[0]["text"] == "Only you see this"


def test_views_open_update_and_publish(fake_slack: FakeSlackAPI) -> None:
    client = client_for(fake_slack)
    modal = {"type": "modal", "callback_id": "summary", "private_metadata": '{"episode": 7}',
             "title": {"type": "plain_text", "text": "Summary"}, "blocks": []}

    opened = client.views_open(trigger_id="123.456.abc", view=modal)["view"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"],
                                  view={**modal, "blocks": [{"type": "divider"}]})["view"]
    home = client.views_publish(user_id="U0CLIN0001", view={"type": "home", "blocks": []})

    assert opened["callback_id"] == "summary"
    assert opened["private_metadata"] == '{"episode": 7}'
    assert fake_slack.view(opened["id"])["blocks"] == [{"type": "divider"}]
    assert updated["hash"] != opened["hash"]
    with pytest.raises(SlackApiError, match="hash_conflict"):
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    assert home["ok"]
    assert fake_slack.home("U0CLIN0001") is not None
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        client.views_open(trigger_id="", view=modal)


def test_users_info_gives_configured_time_zones(fake_slack: FakeSlackAPI) -> None:
    fake_slack.add_user("U0CLIN0001", real_name="Avery Clinician", tz="America/Vancouver",
                        tz_offset=-28800)
    client = client_for(fake_slack)

    user = client.users_info(user="U0CLIN0001")["user"]

    assert (user["tz"], user["tz_offset"], user["real_name"]) == (
        "America/Vancouver", -28800, "Avery Clinician",
    )
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="U0NOBODY")


def test_usergroup_members_and_permalink(fake_slack: FakeSlackAPI) -> None:
    fake_slack.add_usergroup("S0CCT", ["U0CCT0001", "U0CCT0002"])
    client = client_for(fake_slack)
    posted = client.chat_postMessage(channel="C0CCT", text="Chart check please")

    members = client.usergroups_users_list(usergroup="S0CCT")["users"]
    link = client.chat_getPermalink(channel="C0CCT", message_ts=posted["ts"])["permalink"]

    assert members == ["U0CCT0001", "U0CCT0002"]
    assert link.endswith(f"/archives/C0CCT/p{posted['ts'].replace('.', '')}")
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        client.usergroups_users_list(usergroup="S0NONE")


def test_unknown_method_is_unknown_method(fake_slack: FakeSlackAPI) -> None:
    with pytest.raises(SlackApiError, match="unknown_method"):
        client_for(fake_slack).api_call("chat.scheduleMessage", json={"channel": "C1"})


def test_reset_forgets_traffic_but_keeps_users(fake_slack: FakeSlackAPI) -> None:
    fake_slack.add_user("U0CLIN0001")
    client = client_for(fake_slack)
    client.chat_postMessage(channel="C1", text="x")
    fake_slack.script("chat.postMessage", NotOk("channel_not_found"))

    fake_slack.reset()

    assert fake_slack.calls() == []
    assert fake_slack.messages("C1") == []
    assert client.chat_postMessage(channel="C1", text="y")["ok"]  # the script is gone too
    assert client.users_info(user="U0CLIN0001")["ok"]


# --------------------------------------------------------------------------- scripted faults


def test_rate_limit_answers_429_with_retry_after(fake_slack: FakeSlackAPI) -> None:
    fake_slack.script("chat.postMessage", Rate(retry_after=7))

    with pytest.raises(SlackApiError) as raised:
        client_for(fake_slack).chat_postMessage(channel="C1", text="x")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"
    assert fake_slack.messages("C1") == []
    assert fake_slack.calls("chat.postMessage")[0].answer == "Rate"


@pytest.mark.parametrize("body", [None, "<html><body>502 Bad Gateway</body></html>"])
def test_server_error_answers_5xx_and_stores_nothing(fake_slack: FakeSlackAPI,
                                                     body: str | None) -> None:
    fake_slack.script("chat.postMessage", ServerError(502, body=body))

    with pytest.raises(SlackApiError) as raised:
        client_for(fake_slack).chat_postMessage(channel="C1", text="x")

    assert raised.value.response.status_code == 502
    assert fake_slack.messages("C1") == []


def test_not_ok_answers_the_named_error(fake_slack: FakeSlackAPI) -> None:
    fake_slack.script("chat.postMessage", NotOk("channel_not_found"))

    with pytest.raises(SlackApiError) as raised:
        client_for(fake_slack).chat_postMessage(channel="C1", text="x")

    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "channel_not_found"
    assert fake_slack.messages("C1") == []


def test_scripts_are_used_once_each_in_order(fake_slack: FakeSlackAPI) -> None:
    fake_slack.script("chat.postMessage", NotOk("first"), NotOk("second"))
    client = client_for(fake_slack)
    errors = []
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C1", text="x")
        errors.append(raised.value.response["error"])

    assert errors == ["first", "second"]
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert [c.answer for c in fake_slack.calls("chat.postMessage")] == ["NotOk", "NotOk", "normal"]


def test_reset_before_drops_the_connection_and_stores_nothing(fake_slack: FakeSlackAPI) -> None:
    fake_slack.script("chat.postMessage", ResetBefore())

    with pytest.raises(CONNECTION_ERRORS):
        client_for(fake_slack).chat_postMessage(channel="C1", text="x")

    assert fake_slack.messages("C1") == []
    assert len(fake_slack.calls("chat.postMessage")) == 1  # it did arrive


def test_reset_after_stores_the_message_but_the_client_sees_a_connection_error(
    fake_slack: FakeSlackAPI,
) -> None:
    fake_slack.script("chat.postMessage", ResetAfter())

    with pytest.raises(CONNECTION_ERRORS):
        client_for(fake_slack).chat_postMessage(channel="C1", text="Check-in 1 is due")

    assert [m["text"] for m in fake_slack.messages("C1")] == ["Check-in 1 is due"]


def test_the_sdks_default_retry_double_posts_after_reset_after(fake_slack: FakeSlackAPI) -> None:
    """Why bot.delivery.slack_client does not use the SDK's default retry handlers."""
    fake_slack.script("chat.postMessage", ResetAfter())

    answer = client_for(fake_slack, retries=True).chat_postMessage(channel="C1", text="once")

    assert answer["ok"]
    assert [m["text"] for m in fake_slack.messages("C1")] == ["once", "once"]


def test_answer_replaces_the_simulated_workspace(fake_slack: FakeSlackAPI) -> None:
    fake_slack.script("auth.test", Answer({"ok": True, "user_id": "U0OTHER"}, headers={"X-A": "1"}))

    answer = client_for(fake_slack).auth_test()

    assert answer["user_id"] == "U0OTHER"
    assert {k.lower(): v for k, v in answer.headers.items()}["x-a"] == "1"


def test_delay_answers_late_and_a_short_client_timeout_gives_up(fake_slack: FakeSlackAPI) -> None:
    fake_slack.script("auth.test", Delay(0.3), Delay(0.3))
    started = time.monotonic()

    assert client_for(fake_slack).auth_test()["ok"]
    assert time.monotonic() - started >= 0.3
    # urllib takes float seconds; the SDK's `int` hint is narrower than what it passes on.
    impatient = WebClient(base_url=fake_slack.url, token="xoxb-t", retry_handlers=[],
                          timeout=0.05)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        impatient.auth_test()


# --------------------------------------------------------------------------- random faults


def _outcomes(fake: FakeSlackAPI, n: int) -> list[str]:
    client = client_for(fake)
    outcomes = []
    for i in range(n):
        try:
            client.chat_postMessage(channel="C1", text=f"m{i}")
            outcomes.append("ok")
        except SlackApiError as exc:
            outcomes.append(str(exc.response.status_code))
        except CONNECTION_ERRORS:
            outcomes.append("reset")
    return outcomes


def test_random_faults_hit_about_the_given_share_and_replay_with_the_seed() -> None:
    kinds: list[Scripted] = [Rate(1), ServerError(500), ResetBefore(), ResetAfter()]
    runs = []
    for _ in range(2):
        with FakeSlackAPI() as fake:
            fake.faults("chat.postMessage", rate=0.2, kinds=kinds, seed=1234)
            outcomes = _outcomes(fake, 200)
            answers = [c.answer for c in fake.calls("chat.postMessage")]
            stored = len(fake.messages("C1"))
        runs.append(outcomes)

    assert runs[0] == runs[1]  # same seed, same story
    failures = sum(o != "ok" for o in runs[0])
    assert 20 <= failures <= 60
    assert {"Rate", "ServerError", "ResetBefore", "ResetAfter"} <= set(answers)
    # ResetAfter posts although the client saw a failure; nothing else does.
    assert stored == runs[0].count("ok") + answers.count("ResetAfter")


def test_scripts_win_over_random_faults_and_rate_zero_turns_them_off(
    fake_slack: FakeSlackAPI,
) -> None:
    fake_slack.faults("chat.postMessage", rate=1.0, kinds=[ServerError(500)], seed=1)
    fake_slack.script("chat.postMessage", NotOk("scripted"))

    assert _outcomes(fake_slack, 2) == ["200", "500"]
    fake_slack.faults("chat.postMessage", rate=0, kinds=[])
    assert _outcomes(fake_slack, 1) == ["ok"]


def test_wait_for_returns_the_calls_or_fails_clearly(fake_slack: FakeSlackAPI) -> None:
    client_for(fake_slack).chat_postMessage(channel="C1", text="x")

    assert len(fake_slack.wait_for("chat.postMessage", 1, timeout=1)) == 1
    with pytest.raises(AssertionError, match=r"expected 2 chat\.postMessage"):
        fake_slack.wait_for("chat.postMessage", 2, timeout=0.1)
