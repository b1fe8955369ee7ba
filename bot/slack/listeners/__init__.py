"""Listeners by surface; each module has `register(app)`. Thin: parse, one service, reply."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from slack_bolt import Ack, BoltContext

from bot.services.readmodels import Resolved
from bot.services.types import Actor

if TYPE_CHECKING:
    from bot.slack.surface import Surface


Listener = Callable[[Ack, dict[str, Any], BoltContext], None]

#: Listeners whose work the inbox does after the answer, by inbox kind.
STORED_FIRST: dict[str, Listener] = {}

#: Which action ids are stored first, in registration order: (Bolt's constraint, inbox kind).
STORED_ROUTES: list[tuple[str | re.Pattern[str], str]] = []

#: What of a block_actions payload a stored-first listener and the error handler read.
_KEPT = ("type", "user", "actions", "container", "channel")


def stored_first(action_id: str | re.Pattern[str], listener: Listener) -> Listener:
    """For a button whose answer to Slack is empty anyway: the request stores the press in
    the Slack inbox and answers; `listener` then runs from the inbox, right after, exactly
    as it would have in the request (its refusals reach the person the same way).

    `action_id` is the constraint Bolt routes on; the fast lane (`bot.slack.door`) routes
    the same presses by it without Bolt."""
    kind = f"action:{listener.__name__}"
    STORED_FIRST[kind] = listener
    if (action_id, kind) not in STORED_ROUTES:
        STORED_ROUTES.append((action_id, kind))

    def acknowledge(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        surface_of(context).inbox.accept(kind, kept(body), user=user_of(body))

    acknowledge.__name__ = listener.__name__
    acknowledge.__doc__ = listener.__doc__
    return acknowledge


def stored_kind(action_id: str) -> str | None:
    """The inbox kind a press of `action_id` is stored as, matched as Bolt matches it
    (equal to a string, `re.search` of a pattern); None when it is answered in the request."""
    for constraint, kind in STORED_ROUTES:
        if constraint == action_id if isinstance(constraint, str) else constraint.search(action_id):
            return kind
    return None


def kept(body: dict[str, Any]) -> dict[str, Any]:
    """What of a press is stored: what its listener and the error handler read."""
    return {key: body[key] for key in _KEPT if key in body}


def surface_of(context: BoltContext) -> Surface:
    """The `Surface` the app's middleware put in the context."""
    return cast("Surface", context["surface"])


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user["id"])
    return str(body["user_id"])


def follow(
    surface: Surface,
    chart: str,
    actor: Actor,
    queued: tuple[str, ...] | list[str],
    *,
    outbox_id: int | None = None,
    action: Resolved | None = None,
    detail: str | None = None,
) -> bool:
    """After a change: mark the clicked message, refresh live prompts, send what is due now.

    Everything goes through the outbox first (durable); this only delivers it at once
    instead of at the next tick. True when at least one newly queued message went out.
    """
    keys = surface.services.messages.after_slack_action(
        chart, actor=actor, outbox_id=outbox_id, action=action, detail=detail
    )
    report = surface.dispatcher.deliver([*queued, *keys])
    return any(key in queued for key in report.sent)
