"""The fast lane: a `/care note` and a stored-first press answered without Bolt.

These two are most of what Slack sends in a busy hour, and their answer needs nothing but
the request stored: a note is checked (its text, the client, the person's permission) and
stored in the Slack inbox, a press is stored there, and the inbox applies both right after.
Going through Bolt for that (its request object, five middlewares, listener matching and
keyword injection, the body parsed twice) cost several times the store itself. The lane
does what that path does for these two requests, with the same code:

* the signature, the payload's shape and the NUL check of `bot.slack.guard`;
* counted as an answer by the HTTP front (`bot.load`), as Bolt's requests are;
* the note: `commands.answer_note` (the trigger_id claimed in the write that stores it);
  a press: `stored_first`'s store, routed by the same action-id constraints Bolt uses;
* a failure answered by the app's own error handler.

Everything else, and anything the lane is not sure of (unsigned, stale, malformed, a NUL, a
command that is not a note, an action answered in the request), returns None and goes
through Bolt, whose gate answers it exactly as before: the lane never refuses anything
itself, so there is one place where a request is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from slack_bolt import BoltResponse

from bot.slack.care import CareUsageError, Verb, parse_care
from bot.slack.guard import has_nul, payload_problem, signature_problem
from bot.slack.listeners import kept, stored_kind, user_of
from bot.slack.listeners.commands import answer_note

if TYPE_CHECKING:
    from bot.slack.surface import Surface

Answer = tuple[int, dict[str, str], bytes]
"""Status, headers and body, as the HTTP front sends them."""

ErrorHandler = Callable[[Exception, dict[str, Any]], BoltResponse]
"""The app's error handler (`bot.slack.app.on_error`) bound to its client and context."""

FORM = "application/x-www-form-urlencoded"
JSON_TYPE = {"content-type": "application/json;charset=utf-8"}


class FastLane:
    """`lane(headers, body)`: the answer to a note or a stored-first press, or None for
    Bolt. `headers` have lower-case names; `body` is the raw request body."""

    def __init__(self, surface: Surface, signing_secret: str, on_error: ErrorHandler) -> None:
        self._surface = surface
        self._secret = signing_secret
        self._on_error = on_error

    def __call__(self, headers: Mapping[str, str], body: bytes) -> Answer | None:
        if headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
            return None
        try:
            text = body.decode("utf-8")
            fields = dict(parse_qsl(text, keep_blank_values=True))
            payload: Any = json.loads(fields["payload"]) if "payload" in fields else fields
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        if not isinstance(payload, dict):
            return None
        route = self._route(payload)
        if route is None:
            return None
        if signature_problem(dict(headers), text, self._secret) is not None:
            return None
        if payload_problem(payload) is not None or has_nul(payload):
            return None
        try:
            return route(payload)
        except Exception as error:
            return _raw(self._on_error(error, payload))

    def _route(self, payload: dict[str, Any]) -> Callable[[dict[str, Any]], Answer] | None:
        if payload.get("command") == "/care":
            try:
                parsed = parse_care(str(payload.get("text") or ""))
            except CareUsageError:
                return None  # the usage help is Bolt's listener's answer
            if parsed.verb is not Verb.NOTE:
                return None

            def note(command: dict[str, Any]) -> Answer:
                reply = answer_note(self._surface, command, parsed)
                return 200, dict(JSON_TYPE), json.dumps(reply).encode("utf-8")

            return note
        actions = payload.get("actions")
        if payload.get("type") != "block_actions" or not isinstance(actions, list):
            return None
        if len(actions) != 1 or not isinstance(actions[0], dict):
            return None
        kind = stored_kind(str(actions[0].get("action_id")))
        if kind is None:
            return None

        def press(body: dict[str, Any]) -> Answer:
            self._surface.inbox.accept(kind, kept(body), user=user_of(body))
            return 200, {}, b""

        return press


def _raw(response: BoltResponse) -> Answer:
    headers = {name: ", ".join(values) for name, values in response.headers.items()}
    body = response.body
    return response.status, headers, body.encode("utf-8") if isinstance(body, str) else body
