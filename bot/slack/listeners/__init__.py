"""Listeners by surface; each module has `register(app)`. Thin: parse, one service, reply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from slack_bolt import BoltContext

from bot.services.readmodels import Resolved
from bot.services.types import Actor

if TYPE_CHECKING:
    from bot.slack.surface import Surface


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
