"""Listeners by surface; each module has `register(app)`. Thin: parse, one service, reply."""

from __future__ import annotations

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

#: What of a block_actions payload a stored-first listener and the error handler read.
_KEPT = ("type", "user", "actions", "container", "channel")


def stored_first(listener: Listener) -> Listener:
    """For a button whose answer to Slack is empty anyway: the request stores the press in
    the Slack inbox and answers; `listener` then runs from the inbox, right after, exactly
    as it would have in the request (its refusals reach the person the same way)."""
    kind = f"action:{listener.__name__}"
    STORED_FIRST[kind] = listener

    def acknowledge(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        kept = {key: body[key] for key in _KEPT if key in body}
        surface_of(context).inbox.accept(kind, kept, user=user_of(body))

    acknowledge.__name__ = listener.__name__
    acknowledge.__doc__ = listener.__doc__
    return acknowledge


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
