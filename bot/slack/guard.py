"""The Slack door's guards: nothing unsigned acts, nothing malformed reaches a listener.

* `SignatureGate` replaces Bolt's own signature check (Bolt's raises on a non-integer
  `X-Slack-Request-Timestamp` - the error handler then saw an unverified body - and logs the
  whole body of every request that fails). It runs before Bolt authorizes anything, so an
  unverifiable request gets 401 without a Web API call, a write, or its body in a log. It
  marks the request verified in the context; the error handler replies to nothing else.
* `payload_problem` checks the shape of what the listeners read (a block action has an
  action, a modal has a view with a type, a command has a user...) so a signed but
  malformed payload is refused cleanly instead of failing inside a listener.
* `has_nul` finds NUL characters anywhere in a payload: PostgreSQL cannot store them and
  Slack should never be sent them, so such input is refused with a plain message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

log = logging.getLogger(__name__)

VERIFIED = "signature_verified"
#: Slack's window is 5 minutes; Bolt's too. Ours is a little shorter so that a request we
#: pass is never one Bolt would refuse a moment later.
WINDOW_SECONDS = 5 * 60 - 5
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_SLACK_ID = re.compile(r"[A-Z0-9][A-Za-z0-9_.-]{0,63}")

NUL_MESSAGE = (
    "That contained a NUL character (an invisible control code, often from a copy-paste), "
    "which can't be stored. Nothing was done: retype it without that character."
)


def signature_problem(
    headers: dict[str, Any], raw_body: str, secret: str, *, now: float | None = None
) -> str | None:
    """None when Slack signed `raw_body`; else a short reason safe to log (no body)."""

    def header(name: str) -> str:
        value = headers.get(name)
        if isinstance(value, list | tuple):
            value = value[0] if value else ""
        return str(value or "")

    timestamp = header("x-slack-request-timestamp")
    signature = header("x-slack-signature")
    if not timestamp or not signature:
        return "missing signature headers"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "timestamp is not unix seconds"
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > WINDOW_SECONDS:
        return "timestamp outside the 5-minute window"
    if not _SIGNATURE.fullmatch(signature):
        return "malformed signature"
    base = f"v0:{timestamp}:".encode() + raw_body.encode("utf-8", "surrogatepass")
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "bad signature"
    return None


class SignatureGate(Middleware):
    """Bolt's `before_authorize` slot: verify first, or answer 401 and stop."""

    def __init__(self, signing_secret: str) -> None:
        self._secret = signing_secret

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],
    ) -> BoltResponse:
        if req.mode == "socket_mode":  # the socket itself is authenticated
            req.context[VERIFIED] = True
            return self.check_shape(req, next)
        problem = signature_problem(req.headers, req.raw_body, self._secret)
        if problem is not None:
            log.info("slack request refused (401): %s; %d bytes", problem, len(req.raw_body))
            return BoltResponse(status=401, body='{"error":"invalid request"}')
        req.context[VERIFIED] = True
        return self.check_shape(req, next)

    @staticmethod
    def check_shape(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
        """Before Bolt's own middleware reads the payload: refuse what none of it can read."""
        problem = payload_problem(req.body)
        if problem is not None:
            log.info("slack payload refused (400): %s", problem)
            return BoltResponse(status=400, body='{"error":"malformed payload"}')
        if has_nul(req.body):
            log.info("slack payload refused: a NUL character")
            return nul_refusal(req.body)
        if not handled(req.body):
            # Answered here, so Bolt's "unhandled request" warning (which quotes the
            # payload's ids and types) never runs on something nobody subscribed to.
            log.info("slack payload ignored: %s not handled by this app", kind_of(req.body))
            return BoltResponse(status=200, body="")
        return next()


def has_nul(value: Any, depth: int = 0) -> bool:
    """True when a NUL character is in any string (key or value) of a parsed payload."""
    if depth > 64:
        return False
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k, depth + 1) or has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v, depth + 1) for v in value)
    return False


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_SLACK_ID.fullmatch(value))


def _is_str(value: Any, *, optional: bool = False) -> bool:
    return (optional and value is None) or isinstance(value, str)


def _user_ok(body: dict[str, Any]) -> bool:
    user = body.get("user")
    return isinstance(user, dict) and _is_id(user.get("id"))


def _action_problem(action: Any) -> str | None:
    if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
        return "an action without an action_id"
    if not _is_str(action.get("value"), optional=True):
        return "an action value that is not text"
    option = action.get("selected_option")
    if option is not None and not (isinstance(option, dict) and _is_str(option.get("value"))):
        return "a selected option without a value"
    return None


def _state_ok(state: Any) -> bool:
    if state is None:
        return True
    if not isinstance(state, dict):
        return False
    values = state.get("values", {})
    return isinstance(values, dict) and all(
        isinstance(block, dict) and all(isinstance(e, dict) for e in block.values())
        for block in values.values()
    )


def payload_problem(body: Any) -> str | None:
    """None when the payload has the shape our listeners read; else what is wrong."""
    if not isinstance(body, dict):
        return "not an object"
    if "command" in body:
        if not _is_str(body.get("command")) or not _is_id(body.get("user_id")):
            return "a slash command without a command or a user_id"
        if not _is_str(body.get("text"), optional=True):
            return "a slash command whose text is not text"
        if not _is_str(body.get("trigger_id"), optional=True):
            return "a slash command whose trigger_id is not text"
        return None
    kind = body.get("type")
    if kind == "block_actions":
        if not _user_ok(body):
            return "a block action without a user"
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "a block action without actions"
        for action in actions:
            problem = _action_problem(action)
            if problem:
                return problem
        for name in ("container", "channel", "view", "message"):
            if body.get(name) is not None and not isinstance(body.get(name), dict):
                return f"a block action whose {name} is not an object"
        container = body.get("container") or {}
        if not _is_str(container.get("channel_id"), optional=True):
            return "a container channel that is not an id"
        if not _state_ok(body.get("state")) or not _state_ok((body.get("view") or {}).get("state")):
            return "a state that is not an object of blocks"
        return None
    if kind in ("view_submission", "view_closed"):
        if not _user_ok(body):
            return "a view payload without a user"
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            return "a view payload without a view type"
        if not _is_str(view.get("callback_id")):
            return "a view without a callback_id"
        if not _is_str(view.get("private_metadata"), optional=True):
            return "a view whose private_metadata is not text"
        if not isinstance(view.get("blocks", []), list) or not _state_ok(view.get("state")):
            return "a view whose blocks or state are malformed"
        return None
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "an event callback without an event type"
        if not _is_str(body.get("event_id"), optional=True):
            return "an event id that is not text"
        if event.get("type") in ("message", "app_home_opened"):
            if event.get("type") == "message" and (event.get("subtype") or event.get("bot_id")):
                return None
            if not _is_id(event.get("user")):
                return "an event without a user"
            if not _is_str(event.get("channel"), optional=True):
                return "an event whose channel is not an id"
        return None
    if kind == "url_verification":
        return None if _is_str(body.get("challenge")) else "a url_verification without a challenge"
    if kind == "ssl_check" or body.get("ssl_check") is not None:
        return None
    # Nothing else is subscribed in the manifest; Bolt cannot even describe every other
    # shape in its "unhandled request" warning without tripping over it.
    return "a payload type the app does not handle"


def nul_refusal(body: dict[str, Any]) -> BoltResponse:
    """A plain refusal where Slack shows one: the command's reply, the modal's first field."""
    if "command" in body:
        return _json({"response_type": "ephemeral", "text": f":no_entry: {NUL_MESSAGE}"})
    if body.get("type") == "view_submission":
        block = first_input_block(body.get("view") or {})
        if block:
            return _json({"response_action": "errors", "errors": {block: NUL_MESSAGE}})
    return BoltResponse(status=400, body='{"error":"NUL character in payload"}')


def first_input_block(view: dict[str, Any]) -> str | None:
    """The block id of a modal's first input (where a refusal is shown)."""
    blocks = view.get("blocks")
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if isinstance(values, dict) and values:
        return str(next(iter(values)))
    return None


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200,
        body=json.dumps(payload),
        headers={"content-type": "application/json;charset=utf-8"},
    )


#: What the app listens to (the manifest subscribes to nothing else).
COMMANDS = frozenset({"/care"})
EVENTS = frozenset({"message", "app_home_opened"})


def handled(body: dict[str, Any]) -> bool:
    """True when some listener of ours matches this (already well-formed) payload."""
    from bot.slack.ids import Id

    ids = {str(i) for i in Id}
    if "command" in body:
        return body["command"] in COMMANDS
    kind = body.get("type")
    if kind == "block_actions":
        # An id, or an id with a suffix after ":" (the App Home's page buttons).
        return all(action["action_id"].split(":", 1)[0] in ids for action in body["actions"])
    if kind in ("view_submission", "view_closed"):
        return body["view"].get("callback_id") in ids
    if kind == "event_callback":
        return body["event"]["type"] in EVENTS
    return True


def kind_of(body: dict[str, Any]) -> str:
    """A payload's kind for a log line: a fixed word, never the sender's text."""
    if "command" in body:
        return "a slash command"
    kind = body.get("type")
    known = {"block_actions", "view_submission", "view_closed", "event_callback",
             "url_verification", "ssl_check"}
    return kind if isinstance(kind, str) and kind in known else "a payload"
