"""Inbound Slack traffic built and signed exactly as Slack sends it, and a client that POSTs it.

Slash commands and interactivity are `application/x-www-form-urlencoded` (interactivity as
one `payload` field holding JSON); Events API callbacks are JSON. Every request carries
`X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=hex(HMAC-SHA256(secret,
"v0:{timestamp}:{body}"))` over the exact bytes sent. Pass `timestamp=` (stale) or `secret=`
(wrong) to any builder to forge one.

    slack = SlackRequests(signing_secret="s3cret")
    answer = post(server.url, slack.slash_command("status R-1042", user_id="U0CLIN01"))
    assert answer.status == 200
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bot.devtools.fake_slack import APP_ID, TEAM_DOMAIN, TEAM_ID

Json = dict[str, Any]
_ids = itertools.count(1)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Slack's v0 signature of `body` sent at `timestamp` (seconds since the epoch)."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SlackRequest:
    """One signed request: the exact body bytes and the headers Slack would send."""

    body: bytes
    headers: Mapping[str, str]
    path: str = "/slack/events"

    def with_headers(self, **headers: str) -> SlackRequest:
        """A copy with more headers (names as given), keeping the signature."""
        return replace(self, headers={**self.headers, **headers})

    @property
    def payload(self) -> Json:
        """The JSON this request carries (the `payload` field for interactivity)."""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return dict(json.loads(self.body))
        fields = {k: v[0] for k, v in parse_qs(self.body.decode()).items()}
        return dict(json.loads(fields["payload"])) if "payload" in fields else dict(fields)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def _short_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):08d}"


@dataclass
class SlackRequests:
    """Builds Slack's inbound requests for one workspace and app, signed with `signing_secret`.

    `clock` gives the signing time in seconds; it is the real wall clock unless a test
    needs otherwise, because Bolt checks the 5-minute window against the real wall clock.
    """

    signing_secret: str
    team_id: str = TEAM_ID
    team_domain: str = TEAM_DOMAIN
    api_app_id: str = APP_ID
    verification_token: str = "legacy-verification-token"
    clock: Callable[[], float] = field(default=time.time)

    # -- signing --------------------------------------------------------------------

    def signed(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        path: str = "/slack/events",
    ) -> SlackRequest:
        ts = int(self.clock()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(secret or self.signing_secret, ts, body),
        }
        return SlackRequest(body=body, headers=headers, path=path)

    def _form(self, fields: Mapping[str, str], **signing: Any) -> SlackRequest:
        body = urlencode(fields).encode()
        return self.signed(body, "application/x-www-form-urlencoded", **signing)

    def _json(self, payload: Mapping[str, Any], **signing: Any) -> SlackRequest:
        body = json.dumps(payload).encode()
        return self.signed(body, "application/json", **signing)

    def _user(self, user_id: str, user_name: str) -> Json:
        return {"id": user_id, "username": user_name, "name": user_name, "team_id": self.team_id}

    def _response_url(self, kind: str) -> str:
        return (
            f"https://hooks.slack.com/{kind}/{self.team_id}/{next(_ids)}/"
            f"{hashlib.sha1(str(next(_ids)).encode(), usedforsecurity=False).hexdigest()[:24]}"
        )

    def _trigger_id(self) -> str:
        digest = hashlib.sha1(str(next(_ids)).encode(), usedforsecurity=False).hexdigest()
        return f"{next(_ids)}.{int(self.clock())}.{digest[:32]}"

    # -- slash commands ------------------------------------------------------------

    def slash_command(
        self,
        text: str = "",
        *,
        command: str = "/care",
        user_id: str = "U0CLIN0001",
        user_name: str = "clinician",
        channel_id: str | None = None,
        channel_name: str = "directmessage",
        trigger_id: str | None = None,
        response_url: str | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> SlackRequest:
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id or "D" + user_id[1:],
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or self._response_url("commands"),
            "trigger_id": trigger_id or self._trigger_id(),
        }
        return self._form(fields, timestamp=timestamp, secret=secret)

    # -- interactivity --------------------------------------------------------------

    def interactive(
        self, payload: Mapping[str, Any], *, timestamp: int | None = None, secret: str | None = None
    ) -> SlackRequest:
        """Any interactivity payload, sent as Slack does: form field `payload` holding JSON."""
        return self._form({"payload": json.dumps(payload)}, timestamp=timestamp, secret=secret)

    def block_actions(
        self,
        action_id: str,
        *,
        value: str | None = None,
        selected_option: Mapping[str, Any] | str | None = None,
        block_id: str | None = None,
        action_type: str | None = None,
        user_id: str = "U0CLIN0001",
        user_name: str = "clinician",
        channel_id: str | None = None,
        message: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
        state_values: Mapping[str, Any] | None = None,
        trigger_id: str | None = None,
        response_url: str | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> SlackRequest:
        """A click on a button (`value`) or a choice in a select (`selected_option`).

        Pass the `message` the button sits on (as the fake stored it: needs `ts`) for a
        message container, or the `view` (needs `id`) for a modal or App Home container.
        """
        action: Json = {
            "action_id": action_id,
            "block_id": block_id or _short_id("b"),
            "action_ts": f"{self.clock():.6f}",
        }
        if selected_option is not None:
            option = (
                {"text": {"type": "plain_text", "text": selected_option, "emoji": True},
                 "value": selected_option}
                if isinstance(selected_option, str) else dict(selected_option)
            )
            action.update(type=action_type or "static_select", selected_option=option)
        else:
            action.update(
                type=action_type or "button",
                text={"type": "plain_text", "text": action_id, "emoji": True},
            )
            if value is not None:
                action["value"] = value
        payload: Json = {
            "type": "block_actions",
            "user": self._user(user_id, user_name),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or self._trigger_id(),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": dict(state_values or {})},
            "actions": [action],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "")}
            payload["view"] = dict(view)
        else:
            channel = channel_id or "D" + user_id[1:]
            msg: Json = dict(message or {"type": "message", "ts": f"{self.clock():.6f}"})
            payload["container"] = {
                "type": "message",
                "message_ts": msg.get("ts"),
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel, "name": "directmessage"}
            payload["message"] = msg
            payload["response_url"] = response_url or self._response_url("actions")
        return self.interactive(payload, timestamp=timestamp, secret=secret)

    def view_submission(
        self,
        callback_id: str,
        *,
        values: Mapping[str, Mapping[str, Any]] | None = None,
        private_metadata: str = "",
        view_id: str | None = None,
        view: Mapping[str, Any] | None = None,
        user_id: str = "U0CLIN0001",
        user_name: str = "clinician",
        trigger_id: str | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> SlackRequest:
        """A modal submitted. `values` is `state.values`: {block_id: {action_id: {type, value|…}}}.

        `view` (e.g. what the fake stored for `views.open`) supplies blocks, title and id.
        """
        base: Json = dict(view or {})
        view_id = view_id or base.get("id") or _short_id("V")
        full: Json = {
            "type": "modal",
            "blocks": [],
            "title": {"type": "plain_text", "text": "Modal"},
            **base,
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.api_app_id,
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": {k: dict(v) for k, v in (values or {}).items()}},
            "hash": base.get("hash", f"{self.clock():.6f}.{view_id}"),
            "root_view_id": view_id,
            "previous_view_id": None,
            "external_id": base.get("external_id", ""),
        }
        payload: Json = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user(user_id, user_name),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or self._trigger_id(),
            "view": full,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.interactive(payload, timestamp=timestamp, secret=secret)

    # -- Events API -----------------------------------------------------------------

    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> SlackRequest:
        """An `event_callback`; a retry (`retry_num`) carries Slack's retry headers.

        Reuse the same `event_id` for a retry: that is how Slack retries.
        """
        when = int(self.clock()) if event_time is None else event_time
        payload = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": {"event_ts": f"{self.clock():.6f}", **event},
            "type": "event_callback",
            "event_id": event_id or _short_id("Ev"),
            "event_time": when,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": "U0FAKEBOT1",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{_short_id('ctx')}",
        }
        request = self._json(payload, timestamp=timestamp, secret=secret)
        if retry_num is not None:
            request = request.with_headers(
                **{"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
            )
        return request

    def app_home_opened(self, user_id: str = "U0CLIN0001", *, tab: str = "home") -> SlackRequest:
        return self.event(
            {"type": "app_home_opened", "user": user_id, "channel": "D" + user_id[1:], "tab": tab}
        )

    def url_verification(
        self, challenge: str, *, timestamp: int | None = None, secret: str | None = None
    ) -> SlackRequest:
        payload = {"token": self.verification_token, "challenge": challenge,
                   "type": "url_verification"}
        return self._json(payload, timestamp=timestamp, secret=secret)


# --------------------------------------------------------------------------- the client


def request(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Answer:
    """One HTTP request over a fresh connection; any status comes back (no raising on 4xx)."""
    split = urlsplit(base_url)
    conn = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port, timeout=timeout)
    try:
        prefix = split.path.rstrip("/")
        conn.request(method, prefix + path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return Answer(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=response.read(),
        )
    finally:
        conn.close()


def post(base_url: str, slack_request: SlackRequest, *, timeout: float = 10.0) -> Answer:
    """Send `slack_request` to `base_url` + its path, as Slack would."""
    return request(
        base_url, "POST", slack_request.path, body=slack_request.body,
        headers=slack_request.headers, timeout=timeout,
    )
