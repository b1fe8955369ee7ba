"""The HTTP front serving a real Bolt app, driven by signed requests over loopback."""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.entrypoints.http import ServerThread, create_wsgi_app
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_requests import SlackRequests, post, request, sign
from tests.slack_harness.conftest import SIGNING_SECRET, Harness, Seen, build_tiny_app

# --------------------------------------------------------------------------- Slack traffic


def test_signed_slash_command_is_acked_and_the_listener_posts(
    harness: Harness, slack: SlackRequests
) -> None:
    answer = post(harness.url, slack.slash_command("status R-1042", user_id="U0CLIN0001"))

    assert answer.status == 200
    # process_before_response: the listener has finished when the answer arrives.
    [call] = harness.fake.calls("chat.postMessage")
    assert call.body["channel"] == "U0CLIN0001"
    assert call.body["text"] == "you said: status R-1042"
    assert call.token == "xoxb-test"
    [message] = harness.fake.messages(harness.fake.dm_channel("U0CLIN0001"))
    assert message["text"] == "you said: status R-1042"
    assert harness.seen.commands[0]["command"] == "/care"


def test_forged_signature_is_refused_and_nothing_reaches_slack(
    harness: Harness, slack: SlackRequests
) -> None:
    answer = post(harness.url, slack.slash_command("status R-1042", secret="not-the-secret"))

    assert answer.status == 401
    assert harness.seen.commands == []
    assert harness.fake.calls() == []


def test_stale_timestamp_is_refused_even_with_the_right_secret(
    harness: Harness, slack: SlackRequests
) -> None:
    six_minutes_ago = int(time.time()) - 6 * 60

    answer = post(harness.url, slack.slash_command("status", timestamp=six_minutes_ago))

    assert answer.status == 401
    assert harness.seen.commands == []
    assert harness.fake.calls() == []


def test_body_changed_after_signing_is_refused(harness: Harness, slack: SlackRequests) -> None:
    signed = slack.slash_command("status R-1042")
    tampered = type(signed)(
        body=signed.body.replace(b"R-1042", b"R-9999"), headers=signed.headers, path=signed.path
    )

    assert post(harness.url, tampered).status == 401
    assert harness.fake.calls() == []


def test_url_verification_answers_the_challenge(harness: Harness, slack: SlackRequests) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7"

    answer = post(harness.url, slack.url_verification(challenge))

    assert answer.status == 200
    assert answer.json() == {"challenge": challenge}


def test_event_callback_and_its_retry_both_reach_the_listener_with_retry_headers(
    harness: Harness, slack: SlackRequests
) -> None:
    first = slack.event({"type": "app_home_opened", "user": "U0CLIN0001", "tab": "home"},
                        event_id="Ev0HOME0001")
    retry = slack.event({"type": "app_home_opened", "user": "U0CLIN0001", "tab": "home"},
                        event_id="Ev0HOME0001", retry_num=1)

    assert post(harness.url, first).status == 200
    assert post(harness.url, retry).status == 200

    assert [e["event_id"] for e in harness.seen.events] == ["Ev0HOME0001", "Ev0HOME0001"]
    assert retry.headers["X-Slack-Retry-Num"] == "1"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_timeout"


def test_block_action_reaches_its_listener_with_the_message_it_sits_on(
    harness: Harness, slack: SlackRequests
) -> None:
    message = {"type": "message", "ts": "1700000000.000100", "text": "Check-in 1 is due"}

    answer = post(harness.url, slack.block_actions("mark_sent", value='{"episode": 7}',
                                                   message=message, channel_id="D0CLIN0001"))

    assert answer.status == 200
    [body] = harness.seen.actions
    assert body["actions"][0]["value"] == '{"episode": 7}'
    assert body["container"] == {
        "type": "message", "message_ts": "1700000000.000100",
        "channel_id": "D0CLIN0001", "is_ephemeral": False,
    }
    assert body["trigger_id"]
    assert body["response_url"].startswith("https://hooks.slack.com/actions/")


def test_view_submission_with_errors_answers_response_action_errors(
    harness: Harness, slack: SlackRequests
) -> None:
    empty = {"focus": {"focus_input": {"type": "plain_text_input", "value": None}}}

    answer = post(harness.url, slack.view_submission("summary", values=empty,
                                                     private_metadata='{"episode": 7}'))

    assert answer.status == 200
    assert answer.json() == {"response_action": "errors",
                             "errors": {"focus": "Please describe the focus."}}
    assert harness.seen.submissions == []


def test_valid_view_submission_reaches_its_listener(
    harness: Harness, slack: SlackRequests
) -> None:
    filled = {"focus": {"focus_input": {"type": "plain_text_input", "value": "Anxiety"}}}

    answer = post(harness.url, slack.view_submission("summary", values=filled,
                                                     private_metadata='{"episode": 7}'))

    assert answer.status == 200
    [body] = harness.seen.submissions
    assert body["view"]["private_metadata"] == '{"episode": 7}'
    assert body["view"]["callback_id"] == "summary"


# --------------------------------------------------------------------------- health


@pytest.mark.parametrize(("ok", "status"), [(True, 200), (False, 503)])
def test_healthz_reports_the_health_callable(ok: bool, status: int) -> None:
    details = {"database": "reachable" if ok else "unreachable", "last_tick_age_s": 42}
    app = create_wsgi_app(slack_app=None, health=lambda: (ok, details))

    with ServerThread(app) as server:
        answer = request(server.url, "GET", "/healthz")

    assert answer.status == status
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"ok": ok, "details": details}


def test_healthz_is_503_when_the_health_check_itself_fails() -> None:
    def broken() -> tuple[bool, Mapping[str, Any]]:
        raise RuntimeError("database driver exploded")

    with ServerThread(create_wsgi_app(slack_app=None, health=broken)) as server:
        answer = request(server.url, "GET", "/healthz")

    assert answer.status == 503
    assert answer.json()["ok"] is False
    assert "exploded" not in answer.text


# --------------------------------------------------------------------------- routing


def test_unknown_path_is_404(harness: Harness) -> None:
    assert request(harness.url, "POST", "/slack/other", body=b"x").status == 404
    assert request(harness.url, "GET", "/").status == 404


def test_wrong_method_is_405_with_allow(harness: Harness) -> None:
    get_events = request(harness.url, "GET", "/slack/events")
    post_health = request(harness.url, "POST", "/healthz", body=b"{}")

    assert (get_events.status, get_events.headers["allow"]) == (405, "POST")
    assert (post_health.status, post_health.headers["allow"]) == (405, "GET, HEAD")
    assert harness.fake.calls() == []


def test_slack_path_is_404_when_slack_comes_over_socket_mode() -> None:
    with ServerThread(create_wsgi_app(slack_app=None)) as server:
        assert request(server.url, "POST", "/slack/events", body=b"{}").status == 404


def test_declared_oversized_body_is_413_without_reaching_bolt(
    fake_slack: FakeSlackAPI, slack: SlackRequests
) -> None:
    seen = Seen()
    app = create_wsgi_app(slack_app=build_tiny_app(fake_slack, seen), max_body_bytes=512)
    fake_slack.reset()
    big = slack.slash_command("note R-1042 " + "x" * 2000)

    with ServerThread(app) as server:
        answer = post(server.url, big)

    assert answer.status == 413
    assert seen.commands == []
    assert fake_slack.calls() == []


def test_chunked_body_over_the_cap_is_413() -> None:
    received: list[bytes] = []

    def platform(method: str, path: str, query: str, headers: Mapping[str, str],
                 body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        received.append(body)
        return 200, {}, b"ok"

    app = create_wsgi_app(slack_app=None, routes={"/platform/events": platform},
                          max_body_bytes=100)
    with ServerThread(app) as server:
        split = urlsplit(server.url)
        conn = http.client.HTTPConnection(split.hostname or "", split.port, timeout=5)
        conn.request("POST", "/platform/events", body=iter([b"y" * 80, b"y" * 80]),
                     encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
        status = conn.getresponse().status
        conn.close()

    assert status == 413
    assert received == []


def test_platform_route_gets_the_raw_request_and_its_answer_goes_back() -> None:
    received: list[tuple[str, str, str, dict[str, str], bytes]] = []

    def platform(method: str, path: str, query: str, headers: Mapping[str, str],
                 body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        received.append((method, path, query, dict(headers), body))
        return 400, {"Content-Type": "application/json"}, b'{"error": "unknown type"}'

    app = create_wsgi_app(slack_app=None, routes={"/platform/events": platform,
                                                  "/platform/healthie": platform})
    raw = b'{"event_id": "e1", "type": "session.attended"}'
    with ServerThread(app) as server:
        answer = request(server.url, "POST", "/platform/events?src=test", body=raw,
                         headers={"X-Platform-Signature": "v1=abc",
                                  "X-Platform-Timestamp": "1700000000",
                                  "Content-Type": "application/json"})
        other = request(server.url, "GET", "/platform/healthie")

    assert (answer.status, answer.json()) == (400, {"error": "unknown type"})
    assert other.status == 405
    [(method, path, query, headers, body)] = received
    assert (method, path, query, body) == ("POST", "/platform/events", "src=test", raw)
    assert headers["x-platform-signature"] == "v1=abc"
    assert headers["x-platform-timestamp"] == "1700000000"
    assert headers["content-type"] == "application/json"


def test_route_that_raises_is_500_with_a_reference_and_no_body_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def platform(method: str, path: str, query: str, headers: Mapping[str, str],
                 body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        raise ValueError("bug")

    app = create_wsgi_app(slack_app=None, routes={"/platform/events": platform})
    phi = b'{"client": "Jane Example", "note": "PHI-MARKER"}'
    with caplog.at_level(logging.INFO, logger="bot.entrypoints.http"), ServerThread(app) as server:
        answer = request(server.url, "POST", "/platform/events", body=phi)

    assert answer.status == 500
    ref = answer.json()["ref"]
    assert ref in caplog.text
    assert "POST /platform/events -> 500" in caplog.text
    assert "PHI-MARKER" not in caplog.text
    assert "Jane" not in caplog.text


def test_request_log_line_has_no_body_or_query(
    harness: Harness, slack: SlackRequests, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.entrypoints.http"):
        post(harness.url, slack.slash_command("note R-1042 PHI-MARKER"))

    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.entrypoints.http"]
    assert line.startswith("POST /slack/events -> 200")
    assert "PHI-MARKER" not in caplog.text


def test_routes_cannot_shadow_the_fronts_own_paths() -> None:
    def platform(method: str, path: str, query: str, headers: Mapping[str, str],
                 body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        return 200, {}, b""

    with pytest.raises(ValueError, match="/slack/events"):
        create_wsgi_app(slack_app=None, routes={"/slack/events": platform})


def test_many_concurrent_slash_commands_each_post_once(
    harness: Harness, slack: SlackRequests
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    requests = [slack.slash_command(f"status R-{n}", user_id=f"U0CLIN{n:04d}") for n in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda r: post(harness.url, r).status, requests))

    assert statuses == [200] * 40
    texts = sorted(c.body["text"] for c in harness.fake.calls("chat.postMessage"))
    assert texts == sorted(f"you said: status R-{n}" for n in range(40))


def test_signed_request_payload_round_trips(slack: SlackRequests) -> None:
    request_ = slack.block_actions("mark_sent", selected_option="3")
    payload = request_.payload

    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["selected_option"]["value"] == "3"
    assert json.loads(json.dumps(payload)) == payload
    assert request_.headers["X-Slack-Signature"] == sign(
        SIGNING_SECRET, int(request_.headers["X-Slack-Request-Timestamp"]), request_.body
    )


def test_socket_mode_opens_its_connection_with_the_app_token_through_the_apps_client(
    fake_slack: FakeSlackAPI,
) -> None:
    """Only the handshake is covered here: the fake speaks HTTP, not websockets."""
    from slack_sdk.errors import SlackApiError

    from bot.entrypoints.http import start_socket_mode

    app = build_tiny_app(fake_slack, Seen())
    fake_slack.reset()

    with pytest.raises(SlackApiError, match="invalid_auth"):  # the fake refuses xapp- tokens
        start_socket_mode(app, "xapp-1-A0FAKE-test")

    [call] = fake_slack.calls("apps.connections.open")
    assert call.token == "xapp-1-A0FAKE-test"
