"""A fake Slack Web API on loopback: the real `WebClient` talks HTTP to it, it records every call.

It ships in the package because `discharge-bot demo` runs the real app against it; the
tests use the same class (`tests/fakes/slack_api.py` re-exports it with a pytest fixture).

Modelled on slackapi/bolt-python's `tests/mock_web_api_server/`, with what that one lacks:
port 0 (tests run in parallel), one instance per test (no class-level state), every request
captured with its parsed body, a small stateful workspace (messages per channel, DMs, views,
users, user groups) so `conversations.history` and `chat.update` behave like Slack, and
scripted or random faults per method, including the two connection resets that matter for
exactly-once delivery:

* `ResetBefore()` - the connection is reset after the request arrived but before anything
  was done with it: nothing is stored, the client sees a connection error.
* `ResetAfter()`  - the message *is* stored, then the connection is reset instead of
  answering: the client sees a connection error although Slack took the message. A blind
  retry of this one posts twice.

Usage::

    with FakeSlackAPI() as fake:
        client = WebClient(base_url=fake.url, token="xoxb-test")
        fake.script("chat.postMessage", Rate(retry_after=1), NotOk("channel_not_found"))
        fake.faults("chat.postMessage", rate=0.2, kinds=[ServerError(500), ResetAfter()], seed=7)
        ...
        assert fake.calls("chat.postMessage")[0].body["channel"] == "C1"

or as a pytest fixture: `from tests.fakes.slack_api import fake_slack` in a conftest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TEAM_ID = "T0FAKE0001"
TEAM_DOMAIN = "fake-practice"
BOT_USER_ID = "U0FAKEBOT1"
BOT_ID = "B0FAKEBOT1"
APP_ID = "A0FAKEAPP1"

# Fields that Slack accepts as JSON strings in a form-encoded body.
DEFAULT_SCOPES = ("chat:write", "commands", "im:write", "users:read")
"""The scopes `auth.test` reports unless told otherwise (`FakeSlackAPI(scopes=...)`)."""

JSON_STRING_FIELDS = frozenset({"blocks", "attachments", "metadata", "view", "user_auth_blocks"})

Json = dict[str, Any]


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Rate:
    """HTTP 429 with `Retry-After` (seconds), as Slack answers a rate-limited method."""

    retry_after: int = 1


@dataclass(frozen=True)
class ServerError:
    """An HTTP 5xx. `body` defaults to Slack's JSON error; pass HTML to mimic the edge."""

    status: int = 500
    body: str | None = None


@dataclass(frozen=True)
class NotOk:
    """HTTP 200 with `{"ok": false, "error": error}`; nothing is stored."""

    error: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResetBefore:
    """Reset the connection before the request is acted on: nothing is stored."""


@dataclass(frozen=True)
class ResetAfter:
    """Act on the request (store the message), then reset the connection: no answer."""


@dataclass(frozen=True)
class Delay:
    """Answer normally after `seconds` (for client timeouts and slow-Slack tests)."""

    seconds: float


@dataclass(frozen=True)
class Answer:
    """Answer with exactly this body and status instead of the simulated workspace."""

    body: Mapping[str, Any]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


Scripted = Rate | ServerError | NotOk | ResetBefore | ResetAfter | Delay | Answer


def _answer_name(answer: Scripted | None) -> str:
    return "normal" if answer is None else type(answer).__name__


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Call:
    """One request as the fake received it.

    `body` merges the query string and the parsed body (form or JSON), with JSON-string
    fields such as `blocks`, `metadata` and `view` decoded. `headers` has lower-case names.
    `answer` names what the fake did: "normal", or the scripted answer's class name.
    """

    method: str
    http_method: str
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]
    raw_body: bytes
    at: float
    answer: str

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None


@dataclass
class _Faults:
    rate: float
    kinds: Sequence[Scripted]
    rng: random.Random


class _Abort(Exception):
    """Raised inside the handler to drop the connection with a TCP reset."""


# --------------------------------------------------------------------------- the fake


class FakeSlackAPI:
    """A stateful fake of the Slack Web API, served on 127.0.0.1, port chosen by the OS.

    Every method is thread-safe; the server answers each connection in its own thread.
    Any `xoxb-` token is accepted unless `bot_token` names the only valid one.
    """

    def __init__(
        self, *, bot_token: str | None = None, scopes: Iterable[str] | None = None
    ) -> None:
        self.bot_token = bot_token
        #: What `auth.test` answers in its `x-oauth-scopes` header (the token's granted scopes).
        self.scopes: list[str] = list(scopes if scopes is not None else DEFAULT_SCOPES)
        self._channels: dict[str, Json] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._scripts: dict[str, deque[Scripted]] = {}
        self._faults: dict[str, _Faults] = {}
        self._messages: dict[str, list[Json]] = {}
        self._ephemeral: list[Json] = []
        self._views: dict[str, Json] = {}
        self._home: dict[str, Json] = {}
        self._dms: dict[str, str] = {}
        self._users: dict[str, Json] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._last_ts = 0.0
        self._view_counter = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> FakeSlackAPI:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name="fake-slack-api",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeSlackAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for `WebClient(base_url=...)`; ends with `/`."""
        if self._server is None:
            raise RuntimeError("the fake Slack API is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    # -- configuration --------------------------------------------------------------

    def script(self, method: str, *answers: Scripted) -> None:
        """Queue answers for the next calls of `method`, one per call, before any random fault."""
        with self._lock:
            self._scripts.setdefault(method, deque()).extend(answers)

    def faults(
        self,
        method: str,
        *,
        rate: float,
        kinds: Iterable[Scripted],
        seed: int | None = None,
    ) -> None:
        """Answer a share `rate` of `method`'s calls with a fault drawn from `kinds`.

        Seeded, so a failing run can be replayed. `rate=0` turns the faults off.
        """
        kinds = list(kinds)
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        if rate and not kinds:
            raise ValueError("kinds must name at least one fault")
        with self._lock:
            if rate == 0:
                self._faults.pop(method, None)
            else:
                self._faults[method] = _Faults(rate, kinds, random.Random(seed))

    def add_user(
        self,
        user_id: str,
        *,
        real_name: str = "Test User",
        name: str | None = None,
        tz: str = "America/Toronto",
        tz_offset: int = -18000,
        tz_label: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        """Make `users.info` know `user_id` (unknown users get `user_not_found`)."""
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name or real_name.lower().replace(" ", "."),
                "deleted": deleted,
                "real_name": real_name,
                "tz": tz,
                "tz_label": tz_label or tz,
                "tz_offset": tz_offset,
                "is_bot": is_bot,
                "is_admin": False,
                "is_owner": False,
                "updated": 1_700_000_000,
                "profile": {"real_name": real_name, "display_name": real_name.split(" ")[0]},
            }

    def add_channel(
        self, channel_id: str, *, name: str = "care-coordination", is_member: bool = True,
        is_private: bool = False,
    ) -> None:
        """Make `conversations.info` know `channel_id` (unknown ones: `channel_not_found`)."""
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_channel": not is_private,
                "is_group": is_private,
                "is_im": False,
                "is_private": is_private,
                "is_archived": False,
                "is_member": is_member,
                "created": 1_700_000_000,
            }

    def add_usergroup(self, usergroup_id: str, users: Iterable[str]) -> None:
        with self._lock:
            self._usergroups[usergroup_id] = list(users)

    def reset(self) -> None:
        """Forget calls, messages, views, scripts and faults; configured users and groups stay."""
        with self._lock:
            self._calls.clear()
            self._scripts.clear()
            self._faults.clear()
            self._messages.clear()
            self._ephemeral.clear()
            self._views.clear()
            self._home.clear()

    # -- inspection -----------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls, oldest first (all of them when `method` is None)."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages(self, channel: str) -> list[Json]:
        """Messages stored in `channel`, oldest first (copies; edits applied)."""
        with self._lock:
            return [json.loads(json.dumps(m)) for m in self._messages.get(channel, [])]

    def channels(self) -> list[str]:
        with self._lock:
            return list(self._messages)

    def ephemerals(self, *, user: str | None = None) -> list[Json]:
        with self._lock:
            return [dict(m) for m in self._ephemeral if user is None or m["user"] == user]

    def view(self, view_id: str) -> Json:
        with self._lock:
            return dict(json.loads(json.dumps(self._views[view_id])))

    def views(self) -> list[Json]:
        with self._lock:
            return [json.loads(json.dumps(v)) for v in self._views.values()]

    def home(self, user_id: str) -> Json | None:
        """The App Home view last published for `user_id`."""
        with self._lock:
            view = self._home.get(user_id)
            return None if view is None else json.loads(json.dumps(view))

    def dm_channel(self, user_id: str) -> str:
        """The D… channel id `conversations.open` gives (or would give) for `user_id`."""
        with self._lock:
            return self._dm_for(user_id)

    def wait_for(self, method: str, count: int = 1, *, timeout: float = 5.0) -> list[Call]:
        """Block until `method` has been called `count` times; the calls, or AssertionError."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self._calls if c.method == method]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} {method} call(s) within {timeout}s, saw {len(found)}"
                    )
                self._changed.wait(remaining)

    # -- request handling (called from the server threads) ---------------------------

    def _next_answer(self, method: str) -> Scripted | None:
        with self._lock:
            queue = self._scripts.get(method)
            if queue:
                return queue.popleft()
            faults = self._faults.get(method)
            if faults and faults.rng.random() < faults.rate:
                return faults.rng.choice(list(faults.kinds))
            return None

    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _handle(
        self, http_method: str, path: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: status, headers, body. Raises `_Abort` to reset the connection."""
        status, extra, result = self._answer(http_method, path, headers, raw)
        if isinstance(result, bytes):
            return status, {"Content-Type": "text/html; charset=utf-8", **extra}, result
        return (
            status,
            {"Content-Type": "application/json; charset=utf-8", **extra},
            json.dumps(result).encode(),
        )

    def _answer(
        self, http_method: str, path: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Json | bytes]:
        split = urlsplit(path)
        method = split.path.rstrip("/").rsplit("/", 1)[-1]
        body = _parse_body(split.query, headers.get("content-type", ""), raw)
        answer = self._next_answer(method)
        self._record(
            Call(method, http_method, split.path, dict(headers), body, raw, time.time(),
                 _answer_name(answer))
        )

        if isinstance(answer, ResetBefore):
            raise _Abort
        if isinstance(answer, Rate):
            headers_out = {"Retry-After": str(answer.retry_after)}
            return 429, headers_out, {"ok": False, "error": "ratelimited"}
        if isinstance(answer, ServerError):
            if answer.body is not None:
                return answer.status, {}, answer.body.encode()
            return answer.status, {}, {"ok": False, "error": "internal_error"}
        if isinstance(answer, NotOk):
            return 200, {}, {"ok": False, "error": answer.error, **answer.extra}
        if isinstance(answer, Answer):
            return answer.status, dict(answer.headers), dict(answer.body)
        if isinstance(answer, Delay):
            time.sleep(answer.seconds)

        token = _token(headers, body)
        if token is None:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if not self._token_valid(token):
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        handler = _METHODS.get(method)
        result: Json
        extra: dict[str, str] = {}
        if handler is None:
            result = {"ok": False, "error": "unknown_method"}
        else:
            with self._lock:
                result = handler(self, body)
            if method == "auth.test":
                extra = {"x-oauth-scopes": ",".join(self.scopes)}
        if isinstance(answer, ResetAfter):
            raise _Abort
        return 200, extra, result

    def _token_valid(self, token: str) -> bool:
        if self.bot_token is not None:
            return token == self.bot_token
        return token.startswith("xoxb-")

    # -- the simulated workspace (called with the lock held) ---------------------------

    def _new_ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def _dm_for(self, user_id: str) -> str:
        if user_id not in self._dms:
            digest = hashlib.sha1(user_id.encode(), usedforsecurity=False).hexdigest()
            self._dms[user_id] = "D" + digest[:10].upper()
        return self._dms[user_id]

    def _resolve_channel(self, channel: str) -> str:
        """Slack posts to a user id (U…/W…) as the DM between that user and the bot."""
        return self._dm_for(channel) if channel[:1] in {"U", "W"} else channel

    def _find(self, channel: str, ts: str) -> Json | None:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        return None

    def _new_view(self, view: Any) -> Json:
        self._view_counter += 1
        view_id = f"V{self._view_counter:010d}"
        stored: Json = dict(view) if isinstance(view, Mapping) else {}
        stored.update(
            id=view_id,
            team_id=TEAM_ID,
            app_id=APP_ID,
            bot_id=BOT_ID,
            state={"values": {}},
            hash=f"{time.time():.6f}.{view_id}",
            root_view_id=view_id,
            previous_view_id=None,
            private_metadata=stored.get("private_metadata", ""),
            callback_id=stored.get("callback_id", ""),
            external_id=stored.get("external_id", ""),
        )
        self._views[view_id] = stored
        return stored


def _token(headers: Mapping[str, str], body: Mapping[str, Any]) -> str | None:
    """The token from `Authorization: Bearer …`, or Slack's legacy `token` field."""
    auth = headers.get("authorization", "")
    if auth.startswith("Bearer ") and auth[len("Bearer ") :]:
        return auth[len("Bearer ") :]
    token = body.get("token")
    return token if isinstance(token, str) and token else None


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() in {"1", "true"}


def _parse_body(query: str, content_type: str, raw: bytes) -> dict[str, Any]:
    body: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    text = raw.decode("utf-8", errors="replace")
    if "application/json" in content_type:
        parsed = json.loads(text) if text.strip() else {}
        if isinstance(parsed, dict):
            body.update(parsed)
    elif "multipart/form-data" not in content_type and text:
        body.update(parse_qsl(text, keep_blank_values=True))
    for key in JSON_STRING_FIELDS & body.keys():
        value = body[key]
        if isinstance(value, str) and value.lstrip()[:1] in {"[", "{"}:
            # A string that is not JSON stays as sent: the test will see what the client sent.
            with contextlib.suppress(json.JSONDecodeError):
                body[key] = json.loads(value)
    return body


# --------------------------------------------------------------------------- methods


def _auth_test(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    return {
        "ok": True,
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": "Fake Practice",
        "user": "discharge-bot",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _message_fields(body: Mapping[str, Any]) -> Json:
    fields: Json = {}
    for key in ("text", "blocks", "attachments", "metadata", "thread_ts"):
        if body.get(key) is not None:
            fields[key] = body[key]
    return fields


def _post_message(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    channel = body.get("channel")
    if not channel:
        return {"ok": False, "error": "channel_not_found"}
    if not any(body.get(k) for k in ("text", "blocks", "attachments")):
        return {"ok": False, "error": "no_text"}
    channel = fake._resolve_channel(str(channel))
    ts = fake._new_ts()
    message: Json = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "ts": ts,
        "text": "",
        **_message_fields(body),
    }
    fake._messages.setdefault(channel, []).append(message)
    return {"ok": True, "channel": channel, "ts": ts, "message": dict(message)}


def _update(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    channel = fake._resolve_channel(str(body.get("channel", "")))
    message = fake._find(channel, str(body.get("ts", "")))
    if message is None:
        return {"ok": False, "error": "message_not_found"}
    message.update(_message_fields(body))
    message["edited"] = {"user": BOT_USER_ID, "ts": fake._new_ts()}
    return {
        "ok": True,
        "channel": channel,
        "ts": message["ts"],
        "text": message.get("text", ""),
        "message": dict(message),
    }


def _post_ephemeral(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    if not body.get("channel"):
        return {"ok": False, "error": "channel_not_found"}
    if not body.get("user"):
        return {"ok": False, "error": "user_not_in_channel"}
    ts = fake._new_ts()
    fake._ephemeral.append(
        {"channel": body["channel"], "user": body["user"], "ts": ts, **_message_fields(body)}
    )
    return {"ok": True, "message_ts": ts}


def _conversations_open(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    users = [u for u in str(body.get("users", "")).split(",") if u]
    if body.get("channel"):
        return {"ok": True, "channel": {"id": body["channel"]}}
    if len(users) != 1:
        return {"ok": False, "error": "users_list_not_supplied" if not users else "not_supported"}
    channel = fake._dm_for(users[0])
    result: Json = {"ok": True, "channel": {"id": channel}}
    if _is_true(body.get("return_im")):
        result["channel"].update(is_im=True, user=users[0])
    return result


def _history(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    channel = str(body.get("channel", ""))
    if not channel:
        return {"ok": False, "error": "channel_not_found"}
    known = fake._channels.get(channel)
    if known is not None and not known["is_member"]:
        return {"ok": False, "error": "not_in_channel"}
    limit = max(1, min(int(body.get("limit") or 100), 999))
    oldest = float(body.get("oldest") or 0)
    latest = float(body["latest"]) if body.get("latest") else None
    inclusive = _is_true(body.get("inclusive"))
    with_metadata = _is_true(body.get("include_all_metadata"))

    def in_range(ts: float) -> bool:
        low = ts >= oldest if inclusive else ts > oldest
        high = True if latest is None else (ts <= latest if inclusive else ts < latest)
        return low and high

    top_level = [
        m for m in fake._messages.get(channel, [])
        if m.get("thread_ts") in (None, m["ts"]) and in_range(float(m["ts"]))
    ]
    newest_first = list(reversed(top_level))
    offset = int(str(body.get("cursor") or "offset_0").removeprefix("offset_"))
    page = newest_first[offset : offset + limit]
    has_more = offset + limit < len(newest_first)
    messages = []
    for message in page:
        copy = json.loads(json.dumps(message))
        if not with_metadata:
            copy.pop("metadata", None)
        messages.append(copy)
    return {
        "ok": True,
        "messages": messages,
        "has_more": has_more,
        "pin_count": 0,
        "response_metadata": {"next_cursor": f"offset_{offset + limit}" if has_more else ""},
    }


def _views_open(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    if not body.get("trigger_id"):
        return {"ok": False, "error": "invalid_trigger_id"}
    if not isinstance(body.get("view"), Mapping):
        return {"ok": False, "error": "invalid_arguments"}
    return {"ok": True, "view": dict(fake._new_view(body["view"]))}


def _views_update(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    view_id = body.get("view_id")
    if not view_id and body.get("external_id"):
        view_id = next(
            (k for k, v in fake._views.items() if v.get("external_id") == body["external_id"]),
            None,
        )
    if not view_id or view_id not in fake._views:
        return {"ok": False, "error": "not_found"}
    current = fake._views[view_id]
    if body.get("hash") and body["hash"] != current["hash"]:
        return {"ok": False, "error": "hash_conflict"}
    new = body.get("view")
    if not isinstance(new, Mapping):
        return {"ok": False, "error": "invalid_arguments"}
    current.update(new)
    current["hash"] = f"{time.time():.6f}.{view_id}"
    return {"ok": True, "view": dict(current)}


def _views_publish(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    user = body.get("user_id")
    view = body.get("view")
    if not user:
        return {"ok": False, "error": "invalid_arguments"}
    if not isinstance(view, Mapping) or view.get("type") != "home":
        return {"ok": False, "error": "invalid_arguments"}
    stored = fake._new_view(view)
    fake._home[str(user)] = stored
    return {"ok": True, "view": dict(stored)}


def _users_info(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    user = fake._users.get(str(body.get("user", "")))
    if user is None:
        return {"ok": False, "error": "user_not_found"}
    return {"ok": True, "user": json.loads(json.dumps(user))}


def _conversations_info(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    channel = str(body.get("channel", ""))
    if channel[:1] == "D":
        return {"ok": True, "channel": {"id": channel, "is_im": True, "is_member": True}}
    if not {"channels:read", "groups:read"} & set(fake.scopes):
        return {
            "ok": False, "error": "missing_scope", "needed": "channels:read,groups:read",
            "provided": ",".join(fake.scopes),
        }
    info = fake._channels.get(channel)
    if info is None:
        return {"ok": False, "error": "channel_not_found"}
    return {"ok": True, "channel": dict(info)}


def _usergroup_users(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    group = fake._usergroups.get(str(body.get("usergroup", "")))
    if group is None:
        return {"ok": False, "error": "no_such_subteam"}
    return {"ok": True, "users": list(group)}


def _permalink(fake: FakeSlackAPI, body: Mapping[str, Any]) -> Json:
    channel = str(body.get("channel", ""))
    ts = str(body.get("message_ts", ""))
    if fake._find(channel, ts) is None:
        return {"ok": False, "error": "message_not_found"}
    return {
        "ok": True,
        "channel": channel,
        "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}",
    }


_METHODS: dict[str, Callable[[FakeSlackAPI, Mapping[str, Any]], Json]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "chat.postEphemeral": _post_ephemeral,
    "conversations.open": _conversations_open,
    "conversations.history": _history,
    "conversations.info": _conversations_info,
    "views.open": _views_open,
    "views.update": _views_update,
    "views.publish": _views_publish,
    "users.info": _users_info,
    "usergroups.users.list": _usergroup_users,
    "chat.getPermalink": _permalink,
}


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlackAPI

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._abort: set[int] = set()
        self._abort_lock = threading.Lock()

    def mark_abort(self, request: socket.socket) -> None:
        with self._abort_lock:
            self._abort.add(id(request))

    def shutdown_request(self, request: Any) -> None:
        with self._abort_lock:
            abort = id(request) in self._abort
            self._abort.discard(id(request))
        if abort:
            # SO_LINGER 0 makes close() send RST instead of FIN: a real "connection reset".
            request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            request.close()
            return
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, extra, payload = self.server.fake._handle(self.command, self.path, headers, raw)
        except _Abort:
            self.close_connection = True
            self.server.mark_abort(self.connection)
            return
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line; the calls are recorded instead."""
